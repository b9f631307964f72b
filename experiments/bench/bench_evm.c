/* `frugal bench evm`: EVM interpreter throughput on two loops, and the
 * ratio against @ethereumjs/evm on the same bytecode when it is installed
 * (tests/node, scripts in tests/node/README). */
#define _GNU_SOURCE
#include "experiments/cli.h"
#include "vm/evm/evm.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *name;
    const char *hex;     /* bytecode */
    uint64_t iterations; /* loop trips */
    uint64_t insns;      /* instructions executed in total */
    double ref_mgas;     /* evmone baseline v0.15.0 on this machine class */
    double ref_ns;
} bench_case;

/* Counting loop: PUSH4 n; L: JUMPDEST PUSH1 1 SWAP1 SUB DUP1 PUSH1 L JUMPI; STOP.
 * 7 instructions and 26 gas per trip. */
#define COUNT_N 10000000u
/* Arithmetic loop over [acc, cnt]:
 *   L: JUMPDEST SWAP1                  [cnt, acc]
 *      PUSH32 C MUL                    acc *= C
 *      PUSH32 M PUSH32 K DUP3 ADDMOD   (acc + K) mod M, M = 2^256 - 189
 *      SWAP1 POP
 *      PUSH1 3 SWAP1 EXP               acc^3
 *      SWAP1 PUSH1 1 SWAP1 SUB         cnt - 1
 *      DUP1 PUSH1 L JUMPI
 * 20 instructions and 126 gas per trip (EXP of a one-byte exponent: 60). */
#define ARITH_N 1000000u

static char *hexcat(const char *a) {
    return strdup(a);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs code once; returns seconds, fills gas used. */
static double run_once(evm_vm *vm, evm_memhost *h, const uint8_t *code, size_t n, int64_t *used,
                       evm_status *st) {
    evm_message m;
    memset(&m, 0, sizeof m);
    m.kind = EVM_CALL_CALL;
    m.gas = INT64_MAX / 2;
    m.recipient.b[19] = 0xaa;
    m.code_address = m.recipient;
    evm_result r;
    /* a transaction: the precompiles are warm (as in ethereumjs's runCode) */
    evm_memhost_begin_tx(h, &m.recipient, 1);
    double t0 = now();
    evm_execute(vm, &evm_memhost_iface, h, &m, code, n, &r);
    double t = now() - t0;
    *used = m.gas - r.gas_left;
    *st = r.status;
    return t;
}

/* Runs the same bytecode in ethereumjs (tests/node/bench.js); seconds per
 * run, or a negative value if it is not available. */
static double run_ethereumjs(const char *hex, int64_t *used) {
    if (access("tests/node/node_modules/@ethereumjs/evm", F_OK) != 0) return -1;
    char cmd[8192];
    if (snprintf(cmd, sizeof cmd, "node tests/node/bench.js %s 2>/dev/null", hex) >=
        (int)sizeof cmd)
        return -1;
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    double secs = -1;
    long long g = 0;
    if (fscanf(p, "%lf %lld", &secs, &g) != 2) secs = -1;
    pclose(p);
    *used = g;
    return secs;
}

/* The best of reps runs of the code in hex (seconds), with its gas used and
 * status; -1 when hex is not bytecode. */
static double time_best(evm_vm *vm, evm_memhost *h, const char *hex, int reps, int64_t *used,
                        evm_status *st) {
    uint8_t *code;
    size_t n;
    if (evm_hex_decode(hex, &code, &n) < 0) return -1;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = run_once(vm, h, code, n, used, st);
        if (t < best) best = t;
    }
    free(code);
    return best;
}

/* "x ethereumjs": its time over ours (best seconds) on the same hex, "-"
 * without it, or a note when its gas differs. */
static void js_ratio(bool js, const char *hex, double best, int64_t used, char *out, size_t cap) {
    snprintf(out, cap, "-");
    if (!js) return;
    int64_t jused = 0;
    double jt = run_ethereumjs(hex, &jused);
    if (jt > 0 && jused != used)
        snprintf(out, cap, "gas differs (%" PRId64 ")", jused);
    else if (jt > 0)
        snprintf(out, cap, "%.1f", jt / best);
}

/* ---- precompiled contracts ---- */

/* Bytecode that writes in[0..n) at memory 0x100, then calls precompile id
 * by STATICCALL `trips` times (or, with id 0, ecrecover, SHA-256 and modexp
 * in turn, on the three inputs at 0x100, 0x200, 0x300). */
static char *precompile_loop(int id, const char *const *inputs, unsigned trips) {
    size_t cap = 8192, len = 0;
    char *h = malloc(cap);
    if (!h) return NULL;
        /* the inputs are the fixed ones below: at most 3 x 256 bytes */
#define OUT(...)                                                                                   \
    len += (size_t)snprintf(len < cap ? h + len : NULL, len < cap ? cap - len : 0, __VA_ARGS__)
    int first = 0, last = id ? 0 : 2;
    for (int k = first; k <= last; k++) {
        const char *in = inputs[id ? 0 : k];
        size_t n = strlen(in) / 2;
        for (size_t at = 0; at < n; at += 32) {
            char word[65] = {0};
            memset(word, '0', 64);
            size_t take = n - at < 32 ? n - at : 32;
            memcpy(word, in + 2 * at, 2 * take);
            OUT("7f%s61%04zx52", word, 0x100 * (size_t)(k + 1) + at);
        }
    }
    size_t loop = len / 2 + 5; /* after PUSH4 n */
    OUT("63%08x5b", trips);
    static const int ids[3] = {1, 2, 5};
    for (int k = first; k <= last; k++) {
        size_t n = strlen(inputs[id ? 0 : k]) / 2;
        /* PUSH1 32 PUSH1 0 PUSH2 n PUSH2 0x100 (k+1) PUSH1 id GAS STATICCALL POP */
        OUT("6020600061%04zx61%04zx60%02x5afa50", n, 0x100 * (size_t)(k + 1), id ? id : ids[k]);
    }
    OUT("600190038061%04zx5700", loop);
#undef OUT
    if (len >= cap) {
        free(h);
        return NULL;
    }
    return h;
}

static int bench_precompiles(evm_vm *vm, evm_memhost *h, int reps, bool js, double arith) {
    /* ecrecover: a valid signature (go-ethereum's precompile vectors); 256
     * bytes for SHA-256; modexp of 32-byte base, exponent and modulus */
    static const char *const ecrec =
        "18c547e4f7b0f325ad1e56f57e26c745b09a3e503d86e00e5255ff7f715d3d1c"
        "000000000000000000000000000000000000000000000000000000000000001c"
        "73b1693892219d736caba55bdb67216e485557ea6b6af75f37096c9aa6a5a75f"
        "eeb940b1d03b21e36b0e47e79769f095fe2ab855bd91e3a38756b7d75a9c4549";
    char sha[513], mx[2 * 192 + 1];
    for (int i = 0; i < 256; i++)
        snprintf(sha + 2 * i, 3, "%02x", (i * 37 + 11) & 0xff);
    snprintf(mx, sizeof mx, "%064x%064x%064x%s%s%s", 32, 32, 32,
             "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
             "9e3779b97f4a7c15f39cc0605cedc8341082276bf3a27251f86c6a11d0c18e95",
             "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff43");
    const char *const all[3] = {ecrec, sha, mx};
    static const struct {
        const char *name;
        int id;
        unsigned trips;
    } loops[] = {{"ecrecover loop", 1, 2000},
                 {"sha256 loop", 2, 200000},
                 {"modexp loop", 5, 20000},
                 {"all three loop", 0, 2000}};
    printf("\n%-16s %10s %10s %9s %9s %11s\n", "precompiles", "Mgas/s", "ns/gas", "x arith", "ms",
           "x ethereumjs");
    int rc = 0;
    for (size_t i = 0; i < sizeof loops / sizeof loops[0]; i++) {
        const char *one[1] = {loops[i].id == 1 ? ecrec : loops[i].id == 2 ? sha : mx};
        char *hex = precompile_loop(loops[i].id, loops[i].id ? one : all, loops[i].trips);
        int64_t used = 0;
        evm_status st = EVM_SUCCESS;
        double best = hex ? time_best(vm, h, hex, reps, &used, &st) : -1;
        if (best < 0) {
            free(hex);
            return 1;
        }
        if (st != EVM_SUCCESS) {
            printf("%-16s failed: %s\n", loops[i].name, evm_status_name(st));
            free(hex);
            rc = 1;
            continue;
        }
        double nsg = best * 1e9 / (double)used;
        char ratio[40];
        js_ratio(js, hex, best, used, ratio, sizeof ratio);
        printf("%-16s %10.0f %10.2f %9.1f %9.1f %11s\n", loops[i].name, (double)used / best / 1e6,
               nsg, arith > 0 ? nsg / arith : 0, best * 1e3, ratio);
        free(hex);
    }
    return rc;
}

int exp_bench_evm(int argc, char **argv) {
    static const struct option opts[] = {{"reps", required_argument, 0, 'r'},
                                         {"no-js", no_argument, 0, 'n'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int reps = 5, c;
    bool js = true;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:nh", opts, NULL)) != -1) {
        switch (c) {
        case 'r': reps = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
        case 'n': js = false; break;
        case 'h':
            printf("usage: %s [--reps N] [--no-js]\n"
                   "Times the EVM on a counting loop (10^7 trips) and a 256-bit arithmetic\n"
                   "loop (MUL, ADDMOD, EXP; 10^6 trips); best of N runs. Prints Mgas/s and\n"
                   "ns per instruction, against evmone's baseline interpreter and, when\n"
                   "tests/node is installed, against @ethereumjs/evm. Then loops that call\n"
                   "precompiled contracts (ecrecover, SHA-256 of 256 bytes, a 256-bit modexp,\n"
                   "all three): ns per gas against the arithmetic loop's, to compare their\n"
                   "prices with CPU time.\n",
                   argv[0]);
            return 0;
        default: return 2;
        }
    }
    char counting[64], arith[512];
    snprintf(counting, sizeof counting, "63%08x5b600190038060055700", COUNT_N);
    const char *C = "9e3779b97f4a7c15f39cc0605cedc8341082276bf3a27251f86c6a11d0c18e95";
    const char *M = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff43";
    const char *K = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    /* PUSH4 n PUSH1 7 (acc), then the loop at offset 7 */
    snprintf(arith, sizeof arith,
             "6007"
             "63%08x"
             "5b90"
             "7f%s02"
             "7f%s7f%s8208"
             "9050"
             "600390"
             "0a"
             "9060019003"
             "80600757"
             "00",
             ARITH_N, C, M, K);
    bench_case cases[2] = {
        {"counting loop", hexcat(counting), COUNT_N, 2 + 7ull * COUNT_N, 2336, 1.59},
        {"arithmetic loop", hexcat(arith), ARITH_N, 3 + 20ull * ARITH_N, 1599, 4.27},
    };
    evm_vm *vm = evm_vm_new();
    evm_memhost *h = vm ? evm_memhost_new(vm) : NULL;
    double arith_ns_gas = 0;
    int rc = 0;
    if (!h || !cases[0].hex || !cases[1].hex) {
        rc = 1;
        goto cleanup;
    }
    printf("%-16s %10s %10s %9s %9s %11s\n", "bench evm", "Mgas/s", "ns/insn", "x evmone", "ms",
           "x ethereumjs");
    for (int i = 0; i < 2; i++) {
        bench_case *b = &cases[i];
        int64_t used = 0;
        evm_status st = EVM_SUCCESS;
        double best = time_best(vm, h, b->hex, reps, &used, &st);
        if (best < 0) {
            rc = 1;
            goto cleanup;
        }
        if (st != EVM_SUCCESS) {
            printf("%-16s failed: %s\n", b->name, evm_status_name(st));
            rc = 1;
            continue;
        }
        double mgas = (double)used / best / 1e6, ns = best * 1e9 / (double)b->insns;
        char ratio[40];
        js_ratio(js, b->hex, best, used, ratio, sizeof ratio);
        printf("%-16s %10.0f %10.2f %9.2f %9.1f %11s\n", b->name, mgas, ns, mgas / b->ref_mgas,
               best * 1e3, ratio);
        if (i == 1) arith_ns_gas = best * 1e9 / (double)used;
        printf("%-16s %10.0f %10.2f   (evmone baseline reference)\n", "", b->ref_mgas, b->ref_ns);
    }
    if (!rc) rc = bench_precompiles(vm, h, reps, js, arith_ns_gas);
cleanup:
    evm_memhost_free(h);
    evm_vm_free(vm);
    free((void *)cases[0].hex);
    free((void *)cases[1].hex);
    return rc;
}
