/* `frugal bench evm`: EVM interpreter throughput on two loops, and the
 * ratio against @ethereumjs/evm on the same bytecode when it is installed
 * (tests/node, scripts in tests/node/README). */
#define _GNU_SOURCE
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
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "node tests/node/bench.js %s 2>/dev/null", hex);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    double secs = -1;
    long long g = 0;
    if (fscanf(p, "%lf %lld", &secs, &g) != 2) secs = -1;
    pclose(p);
    *used = g;
    return secs;
}

int evm_bench(int argc, char **argv) {
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
                   "tests/node is installed, against @ethereumjs/evm.\n",
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
    int rc = 0;
    if (!h || !cases[0].hex || !cases[1].hex) {
        rc = 1;
        goto cleanup;
    }
    printf("%-16s %10s %10s %9s %9s %11s\n", "bench evm", "Mgas/s", "ns/insn", "x evmone", "ms",
           "x ethereumjs");
    for (int i = 0; i < 2; i++) {
        bench_case *b = &cases[i];
        uint8_t *code;
        size_t n;
        if (evm_hex_decode(b->hex, &code, &n) < 0) {
            rc = 1;
            goto cleanup;
        }
        double best = 1e30;
        int64_t used = 0;
        evm_status st = EVM_SUCCESS;
        for (int r = 0; r < reps; r++) {
            double t = run_once(vm, h, code, n, &used, &st);
            if (t < best) best = t;
        }
        free(code);
        if (st != EVM_SUCCESS) {
            printf("%-16s failed: %s\n", b->name, evm_status_name(st));
            rc = 1;
            continue;
        }
        double mgas = (double)used / best / 1e6, ns = best * 1e9 / (double)b->insns;
        char ratio[32] = "-";
        if (js) {
            int64_t jused = 0;
            double jt = run_ethereumjs(b->hex, &jused);
            if (jt > 0) snprintf(ratio, sizeof ratio, "%.1f", jt / best);
            if (jt > 0 && jused != used)
                snprintf(ratio, sizeof ratio, "gas differs (%" PRId64 ")", jused);
        }
        printf("%-16s %10.0f %10.2f %9.2f %9.1f %11s\n", b->name, mgas, ns, mgas / b->ref_mgas,
               best * 1e3, ratio);
        printf("%-16s %10.0f %10.2f   (evmone baseline reference)\n", "", b->ref_mgas, b->ref_ns);
    }
cleanup:
    evm_memhost_free(h);
    evm_vm_free(vm);
    free((void *)cases[0].hex);
    free((void *)cases[1].hex);
    return rc;
}
