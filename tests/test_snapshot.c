/* Snapshots: save, restore elsewhere, continue bit for bit; and no image,
 * however corrupt or hostile, crashes the decoder. */
#include "testutil.h"

#include <png.h>
#include <stdio.h>
#include <sys/wait.h>
#include <zlib.h>

static vm_machine *load_example(const char *file, const vm_word *in, int nin, uint64_t gas) {
    vm_buf code = {0};
    cr_assert_eq(tu_load_program(file, &code), 0, "cannot load %s", file);
    vm_machine *a = vm_machine_new();
    vm_load(a, code.data, code.len);
    vm_set_limits(a, &(vm_limits){.gas = gas, .mem = 1 << 20});
    for (int i = 0; i < nin; i++)
        vm_push(a, in[i]);
    vm_buf_free(&code);
    return a;
}

static vm_buf snap_of(const vm_machine *a) {
    vm_buf b = {0};
    cr_assert_eq(vm_snapshot_save(a, &b), 0);
    return b;
}

static void refuel(vm_machine *a, uint64_t more) {
    vm_limits l;
    vm_meters m;
    vm_get_limits(a, &l);
    vm_meters_get(a, &m);
    l.gas = m.gas + more;
    vm_set_limits(a, &l);
}

/* Stop at many points, move the tree to a fresh machine, continue both the
 * same way: their final images are byte for byte the same. */
static void roundtrip(const char *file, const vm_word *in, int nin, uint64_t seed) {
    for (int k = 0; k < 40; k++) {
        uint64_t stop = 1 + tu_below(&seed, 60000);
        vm_machine *a = load_example(file, in, nin, stop);
        vm_status s = vm_run(a);
        vm_buf img = snap_of(a);
        vm_machine *b = vm_machine_new();
        char err[256];
        cr_assert_eq(vm_snapshot_load(b, img.data, img.len, err, sizeof err), 0, "%s", err);
        vm_buf again = snap_of(b);
        cr_assert_eq(again.len, img.len);
        cr_assert(!memcmp(again.data, img.data, img.len), "restore then save is not the identity");
        for (int r = 0; r < 20 && s != VM_HALTED; r++) {
            uint64_t more = 1 + tu_below(&seed, 30000);
            refuel(a, more);
            refuel(b, more);
            s = vm_run(a);
            cr_assert_eq(vm_run(b), s);
        }
        vm_buf fa = snap_of(a), fb = snap_of(b);
        cr_assert_eq(fa.len, fb.len);
        cr_assert(!memcmp(fa.data, fb.data, fa.len), "%s: the restored run diverged", file);
        vm_buf_free(&img);
        vm_buf_free(&again);
        vm_buf_free(&fa);
        vm_buf_free(&fb);
        vm_machine_free(a);
        vm_machine_free(b);
    }
}

Test(snapshot, roundtrip_credit) {
    roundtrip("examples/credit.s", NULL, 0, 1);
}
Test(snapshot, roundtrip_recursive) {
    roundtrip("examples/sandbox_rec.s", (vm_word[]){41, 5}, 2, 2);
}
Test(snapshot, roundtrip_replicator) {
    roundtrip("examples/replicator.s", NULL, 0, 3);
}

/* Random programs, with the heap, call stack and keys they make. */
Test(snapshot, roundtrip_random_programs) {
    uint64_t seed = 9;
    uint8_t c[512];
    vm_machine *a = vm_machine_new(), *b = vm_machine_new();
    for (int i = 0; i < 3000; i++) {
        size_t n = tu_random_program(&seed, c, sizeof c);
        static const vm_word args[] = {3, -2};
        vm_load(a, c, n);
        vm_set_limits(a, &(vm_limits){.gas = 1 + tu_below(&seed, 400),
                                      .mem = 5000,
                                      .underflow = i & 1 ? VM_UNDERFLOW_SKIP : VM_UNDERFLOW_FAULT});
        vm_set_args(a, args, 2);
        vm_push(a, 3);
        vm_run(a);
        vm_buf img = snap_of(a);
        char err[256];
        cr_assert_eq(vm_snapshot_load(b, img.data, img.len, err, sizeof err), 0, "%d: %s", i, err);
        refuel(a, 3000);
        refuel(b, 3000);
        cr_assert_eq(vm_run(a), vm_run(b));
        vm_buf fa = snap_of(a), fb = snap_of(b);
        cr_assert(fa.len == fb.len && !memcmp(fa.data, fb.data, fa.len), "program %d diverged", i);
        vm_buf_free(&img);
        vm_buf_free(&fa);
        vm_buf_free(&fb);
    }
    vm_machine_free(a);
    vm_machine_free(b);
}

/* Save, exit, restore in a new process and continue: the same output as one
 * uninterrupted run with the same final budget. */
Test(snapshot, across_processes) {
    const char *frugal = getenv("FRUGAL");
    cr_assert(frugal, "FRUGAL must name the frugal binary (make test sets it)");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s exec examples/credit.s --gas 1050000", frugal);
    char *whole = tu_run_cmd(cmd);
    snprintf(cmd, sizeof cmd,
             "%s exec examples/credit.s --gas 50000 --snapshot build/test-credit.snap", frugal);
    char *first = tu_run_cmd(cmd);
    cr_assert(strstr(first, "OUT_OF_GAS"), "%s", first);
    /* options first, and an option's value that is itself a snapshot file:
     * the file to resume is the positional argument */
    snprintf(cmd, sizeof cmd,
             "%s exec examples/credit.s --gas 10 --snapshot build/test-other.snap "
             ">/dev/null 2>&1; %s resume --snapshot build/test-other.snap --refuel 1000000 "
             "build/test-credit.snap 2>/dev/null",
             frugal, frugal);
    char *rest = tu_run_cmd(cmd);
    cr_assert_str_eq(rest, whole);
    free(whole);
    free(first);
    free(rest);
}

/* A version 1 image (written before EVM processes could be saved) still
 * loads, saves as the current version and continues as the program does in one run. */
Test(snapshot, reads_version_1) {
    vm_buf v1 = {0};
    cr_assert_eq(tu_read_file("tests/data/credit-v1.snap", &v1), 0);
    cr_assert_eq(v1.data[8], 1);
    vm_machine *a = vm_machine_new();
    char err[256];
    cr_assert_eq(vm_snapshot_load(a, v1.data, v1.len, err, sizeof err), 0, "%s", err);
    vm_buf v2 = snap_of(a);
    cr_assert_eq(v2.data[8], 5);
    cr_assert_eq(v2.len, v1.len + 2 * 6 + 2 * 28 + 8,
                 "a kind byte, an underflow rule, an argument count and (v5) a RAND stream, "
                 "place and child count for each of the 2 processes, and the seed");
    refuel(a, 1000000);
    cr_assert_eq(vm_run(a), VM_HALTED);
    vm_machine *whole = load_example("examples/credit.s", NULL, 0, 1050000);
    cr_assert_eq(vm_run(whole), VM_HALTED);
    const vm_word *s1, *s2, *h;
    uint32_t d1, d2, m;
    vm_proc_memory(a, 0, &s1, &d1, &h, &m);
    vm_proc_memory(whole, 0, &s2, &d2, &h, &m);
    cr_assert_eq(d1, d2);
    cr_assert_arr_eq(s1, s2, d1 * sizeof *s1, "the RECURSE results differ");
    vm_machine_free(a);
    vm_machine_free(whole);
    vm_buf_free(&v1);
    vm_buf_free(&v2);
}

/* A chain suspended deeper than the root's nesting limit (the limit can be
 * lowered after a stop, or edited in an image): it still resumes, in bounds.
 * Each level forks a copy and promises it far more gas than it has; the
 * deepest of 71 counts down when the root runs dry. */
Test(snapshot, suspended_chain_deeper_than_the_nesting_limit) {
    vm_buf code = tu_asm("start: DUP 0\nJZ count\nFORK\nDUP 0\nPUSH -1\nEQ\nJNZ copy\n"
                         "PUSH 4000000000000000000\nPUSH 1000000\nPUSH -1\nRECURSE 0\nHALT\n"
                         "copy: POP\nPUSH 1\nSUB\nJMP start\n"
                         "count: POP\nloop: PUSH 1\nSUB\nDUP 0\nJNZ loop\nHALT\n");
    vm_machine *a = vm_machine_new();
    vm_load(a, code.data, code.len);
    vm_set_limits(a, &(vm_limits){.gas = 20000, .mem = 1 << 24, .nest = 100});
    vm_push(a, 100000);
    vm_push(a, 70);
    cr_assert_eq(vm_run(a), VM_OUT_OF_GAS);
    vm_buf img = snap_of(a);
    uint32_t nest_at = 32 + 4 + 1 + 4 * 4 + 8 + 4 + 8 + 4 + 4; /* the root's limits.nest */
    cr_assert_eq(img.data[nest_at], 100);
    img.data[nest_at] = 1;
    uint32_t crc = (uint32_t)crc32(0L, img.data + 32, (uInt)(img.len - 32));
    for (int b = 0; b < 4; b++)
        img.data[24 + b] = (uint8_t)(crc >> (8 * b));
    vm_machine *b = vm_machine_new();
    char err[256];
    cr_assert_eq(vm_snapshot_load(b, img.data, img.len, err, sizeof err), 0, "%s", err);
    refuel(b, 1000000);
    cr_assert_eq(vm_run(b), VM_HALTED, "the chain of 71 resumes and unwinds");
    vm_machine_free(a);
    vm_machine_free(b);
    vm_buf_free(&img);
    vm_buf_free(&code);
}

/* ---- bad images ---- */

static vm_buf sample(void) {
    vm_machine *a = load_example("examples/credit.s", NULL, 0, 50000);
    vm_run(a);
    vm_buf b = snap_of(a);
    vm_machine_free(a);
    return b;
}

/* Every truncation of img is an error naming an offset; img itself loads. */
void tu_snapshot_truncations(const vm_buf *img) {
    vm_machine *a = vm_machine_new();
    char err[256];
    for (size_t n = 0; n < img->len; n++) {
        cr_assert_eq(vm_snapshot_load(a, img->data, n, err, sizeof err), -1, "length %zu", n);
        cr_assert(strstr(err, "offset "), "no offset in: %s", err);
    }
    cr_assert_eq(vm_snapshot_load(a, img->data, img->len, err, sizeof err), 0, "%s", err);
    vm_machine_free(a);
}

Test(snapshot, every_truncation_is_an_error) {
    vm_buf img = sample();
    tu_snapshot_truncations(&img);
    vm_buf_free(&img);
}

Test(snapshot, every_flipped_byte_is_an_error) {
    vm_buf img = sample();
    vm_machine *a = vm_machine_new();
    char err[256];
    for (size_t i = 0; i < img.len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            img.data[i] ^= (uint8_t)(1u << bit);
            /* version 3 read as 2 means the same when no process is an EVM one */
            bool same = i == 8 && img.data[8] == 2;
            cr_assert_eq(vm_snapshot_load(a, img.data, img.len, err, sizeof err), same ? 0 : -1,
                         "flipped bit %d of byte %zu: %s", bit, i, err);
            img.data[i] ^= (uint8_t)(1u << bit);
        }
    }
    vm_snapshot_load(a, img.data, 7, err, sizeof err);
    cr_assert(strstr(err, "truncated"), "%s", err);
    img.data[0] = 'X';
    vm_snapshot_load(a, img.data, img.len, err, sizeof err);
    cr_assert(strstr(err, "not a frugal snapshot"), "%s", err);
    vm_machine_free(a);
    vm_buf_free(&img);
}

/* Hostile images with a valid checksum: the content itself is checked.
 * count edited copies of img: each is refused with an offset, or runs. */
void tu_snapshot_hostile(const vm_buf *img, uint64_t seed, int count) {
    vm_machine *a = vm_machine_new();
    char err[256];
    int accepted = 0;
    uint8_t *m = malloc(img->len);
    for (int i = 0; i < count; i++) {
        memcpy(m, img->data, img->len);
        int edits = 1 + (int)tu_below(&seed, 4);
        for (int k = 0; k < edits; k++) {
            size_t at = 32 + tu_below(&seed, (uint32_t)(img->len - 32));
            m[at] = tu_below(&seed, 2) ? (uint8_t)tu_next(&seed) : (uint8_t)(m[at] ^ 0xff);
        }
        uint32_t crc = (uint32_t)crc32(0L, m + 32, (uInt)(img->len - 32));
        for (int b = 0; b < 4; b++)
            m[24 + b] = (uint8_t)(crc >> (8 * b));
        if (vm_snapshot_load(a, m, img->len, err, sizeof err) == 0) {
            accepted++;
            vm_limits l;
            vm_get_limits(a, &l);
            l.gas = 20000;
            vm_set_limits(a, &l);
            vm_run(a); /* whatever it is, it runs to a status */
            vm_buf again = {0};
            vm_snapshot_save(a, &again); /* and what it became saves again */
            vm_buf_free(&again);
        } else {
            cr_assert(strstr(err, "offset "), "%s", err);
        }
    }
    cr_assert_gt(accepted, 0, "some edits (stack words, meters) are legal");
    free(m);
    vm_machine_free(a);
}

Test(snapshot, hostile_content_never_crashes) {
    vm_buf img = sample();
    tu_snapshot_hostile(&img, 4, 20000);
    vm_buf_free(&img);
}

/* An example run whole (frugal exec) and stopped at `gas` into a snapshot:
 * `frugal inspect` (and --dot) of it shows every string in want, and
 * `frugal resume` ends with the stack of the whole run, which holds `stack`. */
static void stop_inspect_resume(const char *example, int gas, const char *const *want,
                                const char *stack) {
    const char *frugal = getenv("FRUGAL");
    cr_assert(frugal, "FRUGAL must name the frugal binary (make test sets it)");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s exec %s --gas 1000000 2>&1", frugal, example);
    char *whole = tu_run_cmd(cmd);
    cr_assert(strstr(whole, stack), "%s", whole);
    char snap[256]; /* one file per example: the tests run in parallel */
    snprintf(snap, sizeof snap, "build/test-%s.snap", strrchr(example, '/') + 1);
    snprintf(cmd, sizeof cmd,
             "%s exec %s --gas %d --snapshot %s 2>/dev/null >/dev/null; %s inspect %s; %s "
             "inspect %s --dot",
             frugal, example, gas, snap, frugal, snap, frugal, snap);
    char *tree = tu_run_cmd(cmd);
    for (; *want; want++)
        cr_assert(strstr(tree, *want), "no \"%s\" in:\n%s", *want, tree);
    snprintf(cmd, sizeof cmd, "%s resume %s --refuel 1000000 2>&1", frugal, snap);
    char *resumed = tu_run_cmd(cmd);
    const char *rs = strstr(resumed, "stack "), *ws = strstr(whole, "stack ");
    cr_assert(rs && ws && strstr(resumed, "HALTED"), "%s", resumed);
    cr_assert_str_eq(rs, ws, "resumed:\n%s\none run:\n%s", resumed, whole);
    free(tree);
    free(resumed);
    free(whole);
}

/* An EVM child stopped inside its nested frame. */
/* Inputs the fuzzer found (make fuzz; its build skips the checksum, so the
 * test seals each again): each is refused with an offset, or loads, runs to
 * a status and saves again, as tests/fuzz/fuzz_snapshot.c does with it.
 * page-key-read-as-call-key.snap: the check of native call keys read every
 * key's object as a process (ASan: out of bounds). */
Test(snapshot, fuzzer_findings_load_or_are_refused) {
    static const char *const files[] = {"tests/data/fuzz-snapshot/page-key-read-as-call-key.snap"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        vm_buf img = {0};
        cr_assert_eq(tu_read_file(files[i], &img), 0, "%s", files[i]);
        cr_assert_gt(img.len, 32);
        uint32_t crc = (uint32_t)crc32(0L, img.data + 32, (uInt)(img.len - 32));
        for (int b = 0; b < 4; b++)
            img.data[24 + b] = (uint8_t)(crc >> (8 * b));
        vm_machine *a = vm_machine_new();
        char err[256] = "";
        if (vm_snapshot_load(a, img.data, img.len, err, sizeof err) == 0) {
            vm_limits l;
            vm_get_limits(a, &l);
            l.gas = 10000;
            cr_assert_eq(vm_set_limits(a, &l), 0);
            cr_assert_neq(vm_run(a), VM_RUNNING, "%s", files[i]);
            vm_buf again = {0};
            cr_assert_eq(vm_snapshot_save(a, &again), 0, "%s", files[i]);
            vm_buf_free(&again);
        } else {
            cr_assert(strstr(err, "offset "), "%s: %s", files[i], err);
        }
        vm_machine_free(a);
        vm_buf_free(&img);
    }
}

Test(snapshot, evm_inspect_and_resume) {
    const char *want[] = {"process 1  RUNNING", "EVM process: 2 live frames", NULL};
    stop_inspect_resume("examples/evm.s", 40000, want, "stack ");
}

/* examples/evm_calls.s: one EVM process calls another through a
 * call key (the call succeeds: 1, and 100 + 5); stopped inside the callee's
 * world, inspect shows where each frame runs and who holds the world. */
Test(snapshot, evm_calls_example) {
    const char *want[] = {"EVM frame 1 runs in the world of process 1",
                          "its world is held by the transaction of process 2", "key 0: call 1 --c",
                          "p2 -> p1 [style=dashed", NULL};
    stop_inspect_resume("examples/evm_calls.s", 33000, want, "stack    1 105   (bottom first)");
}

/* examples/calls.s: a client calls a native server through a
 * call key; stopped inside the server, the client is suspended inside its
 * KCALL (a dotted edge in --dot), and resuming ends as one run. */
Test(snapshot, kcall_example) {
    const char *want[] = {"(suspended inside KCALL of process 1)", "key 0: call 1 --c",
                          "p2 -> p1 [style=dotted", "p2 -> p1 [style=dashed", NULL};
    stop_inspect_resume("examples/calls.s", 23758, want, "stack    0 1 1 5 12 21   (bottom first)");
}

/* frugal inspect: the tree, the capability graph, a memory image. */
Test(snapshot, inspect_outputs) {
    const char *frugal = getenv("FRUGAL");
    cr_assert(frugal, "FRUGAL must name the frugal binary (make test sets it)");
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "%s exec examples/credit.s --gas 50000 --snapshot build/test-insp.snap "
             "2>/dev/null",
             frugal);
    free(tu_run_cmd(cmd));
    snprintf(cmd, sizeof cmd, "%s inspect build/test-insp.snap", frugal);
    char *tree = tu_run_cmd(cmd);
    cr_assert(strstr(tree, "process 0 (root)  OUT_OF_GAS"), "%s", tree);
    cr_assert(strstr(tree, "(suspended inside RECURSE of process 1)"), "%s", tree);
    cr_assert(strstr(tree, "key 1: process 1 rwc"), "%s", tree);
    cr_assert(strstr(tree, "    process 1  RUNNING"), "%s", tree);
    snprintf(cmd, sizeof cmd, "%s inspect build/test-insp.snap --dot", frugal);
    char *dot = tu_run_cmd(cmd);
    cr_assert(strstr(dot, "digraph frugal {"), "%s", dot);
    cr_assert(strstr(dot, "p0 -> p1 [style=bold"), "%s", dot);
    cr_assert(strstr(dot, "p0 -> g0"), "%s", dot);
    snprintf(cmd, sizeof cmd,
             "%s inspect build/test-insp.snap --image build/test-insp.png --proc 1 2>&1", frugal);
    free(tu_run_cmd(cmd));
    vm_buf png = {0};
    cr_assert_eq(tu_read_file("build/test-insp.png", &png), 0);
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    cr_assert_gt(png.len, 33u);
    cr_assert(!memcmp(png.data, sig, 8), "not a PNG");
    uint32_t width =
        (uint32_t)png.data[16] << 24 | png.data[17] << 16 | png.data[18] << 8 | png.data[19];
    cr_assert_eq(width, 256u);
    vm_buf_free(&png);
    snprintf(cmd, sizeof cmd, "%s inspect build/no-such.snap 2>&1; echo rc=$?", frugal);
    char *bad = tu_run_cmd(cmd);
    cr_assert(strstr(bad, "cannot open build/no-such.snap") && strstr(bad, "rc=4"), "%s", bad);
    free(tree);
    free(dot);
    free(bad);
}

/* ---- frugal resume FILE.snap: raising the limits keeps what was left ---- */

/* `frugal exec` of src with the options `first` and `--snapshot` stops with
 * status `stop`; `frugal resume` of the snapshot with `more` then prints
 * exactly what `frugal exec` of src with `whole` prints (whole: first with
 * more added to its limits). A YIELD in src is a NOP in the whole run. */
static void resume_is_one_run(const char *src, const char *first, const char *stop,
                              const char *more, const char *whole) {
    const char *frugal = getenv("FRUGAL");
    cr_assert(frugal, "FRUGAL must name the frugal binary (make test sets it)");
    char dir[256], cmd[2048];
    tu_tmpdir(dir, sizeof dir, "frugal-resume");
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd, "%s/%s.s", dir, k ? "whole" : "prog");
        FILE *f = fopen(cmd, "w");
        cr_assert(f);
        for (const char *c = src; *c; c++) /* YIELD and NOP: both 1 byte and 1 gas */
            fputs(k && !strncmp(c, "YIELD", 5) ? (c += 4, "NOP  ") : (char[]){*c, 0}, f);
        cr_assert_eq(fclose(f), 0);
    }
    snprintf(cmd, sizeof cmd, "%s exec %s/prog.s %s --snapshot %s/s.snap 2>/dev/null", frugal, dir,
             first, dir);
    char *a = tu_run_cmd(cmd);
    cr_assert(strstr(a, stop), "expected %s:\n%s", stop, a);
    snprintf(cmd, sizeof cmd, "%s resume %s/s.snap %s 2>/dev/null", frugal, dir, more);
    char *b = tu_run_cmd(cmd);
    snprintf(cmd, sizeof cmd, "%s exec %s/whole.s %s 2>/dev/null", frugal, dir, whole);
    char *c = tu_run_cmd(cmd);
    cr_assert(strstr(c, "HALTED"), "%s", c);
    cr_assert_str_eq(b, c, "resume %s after exec %s:\n%s\nis not exec %s:\n%s", more, first, b,
                     whole, c);
    free(a);
    free(b);
    free(c);
    tu_rmtree(dir);
}

/* A loop with FSQRT (so that gas can stop short of the limit) and ALLOC,
 * then X, then another loop. */
#define LOOP_SRC(X)                                                                                \
    "PUSH 25\nl: PUSH 3\nFSQRT\nPOP\nPUSH 8\nALLOC\nPOP\nPUSH 1\nSUB\nDUP 0\nJNZ l\n" X            \
    "\nPUSH 100\nm: PUSH 1\nSUB\nDUP 0\nJNZ m\nHALT\n"
static const char loop_src[] = LOOP_SRC("NOP");

/* A YIELD after about 500 of 5,000 gas: without --refuel the program
 * continues with the gas it had left (frugal resumed it with none). */
Test(snapshot, resume_after_yield_keeps_the_gas_left) {
    resume_is_one_run(LOOP_SRC("YIELD"), "--gas 5000", "YIELDED", "", "--gas 5000");
}

/* Each budget adds to the limit it had: gas (stopped with gas left over),
 * memory (at an ALLOC), memory-time, and all three at once. */
Test(snapshot, resume_adds_to_every_limit) {
    resume_is_one_run(loop_src, "--gas 300", "OUT_OF_GAS", "--refuel 4000", "--gas 4300");
    resume_is_one_run(loop_src, "--gas 5000 --mem 100", "OUT_OF_MEMORY", "--mem 200",
                      "--gas 5000 --mem 300");
    resume_is_one_run(loop_src, "--gas 5000 --memtime 20000", "OUT_OF_MEMTIME", "--memtime 200000",
                      "--gas 5000 --memtime 220000");
    resume_is_one_run(loop_src, "--gas 100 --mem 100 --memtime 20000", "OUT_OF_",
                      "--refuel 4000 --mem 200 --memtime 200000",
                      "--gas 4100 --mem 300 --memtime 220000");
}

/* The gray pixels of a PNG (malloc'd), its width and height. */
static uint8_t *read_gray_png(const char *path, uint32_t *w, uint32_t *h) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    cr_assert(png_image_begin_read_from_file(&img, path), "%s: %s", path, img.message);
    img.format = PNG_FORMAT_GRAY;
    uint8_t *px = malloc(PNG_IMAGE_SIZE(img));
    cr_assert(px);
    cr_assert(png_image_finish_read(&img, NULL, px, 0, NULL), "%s: %s", path, img.message);
    *w = img.width;
    *h = img.height;
    return px;
}

/* frugal inspect --image draws every word a process holds: an EVM process
 * stopped inside its nested frame has no native stack or heap, but its
 * frames' stacks and memory (the process's words but the 2 its result will
 * take); the root draws its stack and the page holding the container. */
Test(snapshot, inspect_image_draws_every_word) {
    const char *frugal = getenv("FRUGAL");
    cr_assert(frugal, "FRUGAL must name the frugal binary (make test sets it)");
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "%s exec examples/evm.s --gas 40000 --snapshot build/test-img.snap "
             ">/dev/null 2>&1; %s inspect build/test-img.snap",
             frugal, frugal);
    char *tree = tu_run_cmd(cmd);
    const char *p1 = strstr(tree, "process 1  RUNNING");
    cr_assert(p1 && strstr(p1, "words "), "%s", tree);
    unsigned long words = strtoul(strstr(p1, "words ") + 6, NULL, 10);
    cr_assert_gt(words, 2, "%s", tree);
    snprintf(cmd, sizeof cmd,
             "%s inspect build/test-img.snap --image build/test-img1.png --proc 1 2>&1 >/dev/null",
             frugal);
    char *msg = tu_run_cmd(cmd), want[64];
    snprintf(want, sizeof want, " %lu bytes of memory drawn", 8 * (words - 2));
    cr_assert(strstr(msg, want), "want '%s' in: %s", want, msg);
    cr_assert(strstr(msg, "EVM stack of frame 1") && strstr(msg, "EVM memory of frame 0"), "%s",
              msg);
    uint32_t w, h;
    free(read_gray_png("build/test-img1.png", &w, &h));
    cr_assert_eq(w, 256u);
    cr_assert_geq(h, 2u);
    /* the root: its stack (row 0), then page 0 (row 1) holding the container */
    snprintf(cmd, sizeof cmd,
             "%s inspect build/test-img.snap --image build/test-img0.png --proc 0 2>&1 >/dev/null",
             frugal);
    char *msg0 = tu_run_cmd(cmd);
    cr_assert(strstr(msg0, "row 1: page 0"), "%s", msg0);
    uint8_t *px = read_gray_png("build/test-img0.png", &w, &h);
    cr_assert_eq(h, 2u, "%s", msg0);
    cr_assert(px[256] == 0xef && px[257] == 0x01, "row 1 starts %02x %02x", px[256], px[257]);
    free(px);
    free(tree);
    free(msg);
    free(msg0);
}
