/* `frugal bench evm`: EVM interpreter throughput on two loops, timed in
 * interleaved rounds (bench_time.h), against evmone's figure for this CPU
 * model when one is known, and against @ethereumjs/evm on the same bytecode
 * when it is installed (tests/node, scripts in tests/node/README). */
#define _GNU_SOURCE
#include "experiments/bench/bench_time.h"
#include "experiments/cli.h"
#include "vm/evm/evm.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *name;
    const char *hex;     /* bytecode */
    uint64_t iterations; /* loop trips */
    uint64_t insns;      /* instructions executed in total */
} bench_case;

/* evmone v0.15.0's baseline interpreter, built with its own release flags
 * (-O3, x86-64-v2, gcc 12), on the two loops below, Mgas/s per CPU model
 * (facts from ../shared/BACKGROUND.md, "evmone ... Measured, per CPU"). A
 * ratio only means something against the figure of the CPU it runs on. */
typedef struct {
    const char *cpu;     /* as BACKGROUND.md names it */
    const char *match;   /* in /proc/cpuinfo's model name */
    double mhz;          /* the clock it was measured at; 0: not given */
    double lo[2], hi[2]; /* counting, arithmetic loop: the runs' range */
} evmone_ref;
static const evmone_ref evmone_refs[] = {
    {"Intel Xeon 2.6 GHz", "Xeon", 2600, {2336, 1599}, {2336, 1599}},
    {"AMD EPYC", "AMD EPYC", 0, {1666, 1477}, {1677, 1483}},
};
#define EVMONE_SOURCE "evmone v0.15.0 baseline, -O3 x86-64-v2 gcc 12 (../shared/BACKGROUND.md)"

/* The first model name in path (/proc/cpuinfo) and its clock: the
 * "@ x.xxGHz" the name gives, else the "cpu MHz" line (0 when neither). */
static int cpu_model(const char *path, char *name, size_t cap, double *mhz) {
    snprintf(name, cap, "unknown (%s unreadable)", path);
    *mhz = 0;
    FILE *fp = fopen(path, "r");
    if (!fp) return -1;
    char line[512];
    bool have_name = false, have_mhz = false;
    while ((!have_name || !have_mhz) && fgets(line, sizeof line, fp)) {
        const char *v = strchr(line, ':');
        if (!v) continue;
        v += 1 + (v[1] == ' ');
        if (!have_name && !strncmp(line, "model name", 10)) {
            snprintf(name, cap, "%.*s", (int)strcspn(v, "\n"), v);
            have_name = true;
        } else if (!have_mhz && !strncmp(line, "cpu MHz", 7)) {
            *mhz = atof(v);
            have_mhz = true;
        }
    }
    fclose(fp);
    const char *at = strstr(name, "@ ");
    double ghz = at ? atof(at + 2) : 0;
    if (ghz > 0) *mhz = ghz * 1000;
    return 0;
}

/* The reference of this CPU model, or NULL: the name must match and, where
 * the reference gives a clock, so must the clock (within 2%). */
static const evmone_ref *evmone_ref_of(const char *model, double mhz) {
    for (size_t i = 0; i < sizeof evmone_refs / sizeof evmone_refs[0]; i++) {
        const evmone_ref *r = &evmone_refs[i];
        if (!strstr(model, r->match)) continue;
        if (r->mhz > 0 && (mhz < r->mhz * 0.98 || mhz > r->mhz * 1.02)) continue;
        return r;
    }
    return NULL;
}

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
    double t0 = bench_now();
    evm_execute(vm, &evm_memhost_iface, h, &m, code, n, &r);
    double t = bench_now() - t0;
    *used = m.gas - r.gas_left;
    *st = r.status;
    return t;
}

/* Loops timed in interleaved rounds (bench_rounds): each keeps its decoded
 * code, and the gas and status of its runs, which must not change. */
typedef struct {
    uint8_t *code;
    size_t n;
    int64_t used;
    evm_status st;
    bool ran;
} timed_loop;
typedef struct {
    evm_vm *vm;
    evm_memhost *h;
    timed_loop *loops;
} timed_set;

static double run_loop(void *ctx, int k) {
    timed_set *s = ctx;
    timed_loop *l = &s->loops[k];
    int64_t used = 0;
    evm_status st = EVM_SUCCESS;
    double t = run_once(s->vm, s->h, l->code, l->n, &used, &st);
    if (l->ran && (used != l->used || st != l->st)) return -1;
    l->used = used;
    l->st = st;
    l->ran = true;
    return st == EVM_SUCCESS ? t : -1;
}

/* Times the n loops in hex[] over `rounds` interleaved rounds: t[k] the
 * seconds of loop k, used[k] its gas. 0, or 1 with a message. */
static int time_loops(evm_vm *vm, evm_memhost *h, const char *const *hex, const char *const *name,
                      int n, int rounds, bench_stat *t, int64_t *used) {
    timed_loop loops[8];
    timed_set s = {vm, h, loops};
    double *samples = calloc((size_t)(n * rounds), sizeof *samples);
    int rc = samples ? 0 : 1;
    memset(loops, 0, sizeof loops);
    for (int k = 0; k < n && !rc; k++)
        if (evm_hex_decode(hex[k], &loops[k].code, &loops[k].n) < 0) rc = 1;
    if (!rc && bench_rounds(run_loop, &s, n, rounds, samples) < 0) {
        for (int k = 0; k < n; k++)
            if (loops[k].ran && loops[k].st != EVM_SUCCESS)
                printf("%-16s failed: %s\n", name[k], evm_status_name(loops[k].st));
        printf("bench evm: a loop failed or changed its gas between runs\n");
        rc = 1;
    }
    for (int k = 0; k < n; k++) {
        if (!rc) t[k] = bench_stat_of(samples, n, rounds, k);
        used[k] = loops[k].used;
        free(loops[k].code);
    }
    free(samples);
    return rc;
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

/* "x ethereumjs": its time (node's best of two runs, after ours: at about
 * 100x slower, a shift of load between the runs moves the ratio little)
 * over our median on the same hex, "-" without it, or a note when its gas
 * differs. */
static void js_ratio(bool js, const char *hex, double med, int64_t used, char *out, size_t cap) {
    snprintf(out, cap, "-");
    if (!js) return;
    int64_t jused = 0;
    double jt = run_ethereumjs(hex, &jused);
    if (jt > 0 && jused != used)
        snprintf(out, cap, "gas differs (%" PRId64 ")", jused);
    else if (jt > 0)
        snprintf(out, cap, "%.1f", jt / med);
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

static int bench_precompiles(evm_vm *vm, evm_memhost *h, int rounds, bool js, double arith) {
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
    enum { NP = 4 };
    static const struct {
        const char *name;
        int id;
        unsigned trips;
    } loops[NP] = {{"ecrecover loop", 1, 2000},
                   {"sha256 loop", 2, 200000},
                   {"modexp loop", 5, 20000},
                   {"all three loop", 0, 2000}};
    char *hex[NP] = {0};
    const char *names[NP];
    bench_stat t[NP];
    int64_t used[NP];
    int rc = 0;
    for (int i = 0; i < NP; i++) {
        const char *one[1] = {loops[i].id == 1 ? ecrec : loops[i].id == 2 ? sha : mx};
        hex[i] = precompile_loop(loops[i].id, loops[i].id ? one : all, loops[i].trips);
        names[i] = loops[i].name;
        if (!hex[i]) rc = 1;
    }
    if (!rc) rc = time_loops(vm, h, (const char *const *)hex, names, NP, rounds, t, used);
    if (!rc) {
        printf("\n%-16s %8s %17s %8s %8s %9s %12s\n", "precompiles", "Mgas/s", "[min, max]",
               "ns/gas", "x arith", "ms", "x ethereumjs");
        for (int i = 0; i < NP; i++) {
            double nsg = t[i].med * 1e9 / (double)used[i];
            char ratio[40];
            js_ratio(js, hex[i], t[i].med, used[i], ratio, sizeof ratio);
            printf("%-16s %8.0f   [%6.0f, %6.0f] %8.2f %8.1f %9.1f %12s\n", loops[i].name,
                   (double)used[i] / t[i].med / 1e6, (double)used[i] / t[i].max / 1e6,
                   (double)used[i] / t[i].min / 1e6, nsg, arith > 0 ? nsg / arith : 0,
                   t[i].med * 1e3, ratio);
        }
    }
    for (int i = 0; i < NP; i++)
        free(hex[i]);
    return rc;
}

/* "1.32" against one figure, "1.31-1.32" against a range; "-" without. */
static void ratio_text(double mgas, double lo, double hi, char *out, size_t cap) {
    if (lo <= 0)
        snprintf(out, cap, "-");
    else if (lo == hi)
        snprintf(out, cap, "%.2f", mgas / lo);
    else
        snprintf(out, cap, "%.2f-%.2f", mgas / hi, mgas / lo);
}

/* "--evmone C,A": figures measured on this CPU. 0, or -1. */
static int parse_evmone(const char *s, double *c, double *a) {
    char *end;
    *c = strtod(s, &end);
    if (end == s || *end != ',') return -1;
    const char *s2 = end + 1;
    *a = strtod(s2, &end);
    if (end == s2 || *end || !(*c > 0) || !(*a > 0)) return -1;
    return 0;
}

static const char evm_bench_usage[] =
    "usage: frugal bench evm [--reps N] [--no-js] [--evmone COUNT,ARITH]\n"
    "                        [--loops] [--reference [--cpuinfo FILE]]\n"
    "Times the EVM on a counting loop (10^7 trips) and a 256-bit arithmetic\n"
    "loop (MUL, ADDMOD, EXP; 10^6 trips), interleaved: N rounds (default and\n"
    "at least 11) each run both once; prints the median Mgas/s with its min and\n"
    "max. Prints the CPU model (/proc/cpuinfo) and compares with evmone's\n"
    "baseline figure for that model (../shared/BACKGROUND.md); it says so when it\n"
    "has none, and --evmone takes evmone's Mgas/s on the two loops measured on\n"
    "this CPU instead. With tests/node installed, x ethereumjs is\n"
    "@ethereumjs/evm's time (best of 2, after ours) over our median. Then loops\n"
    "that call precompiled contracts (ecrecover, SHA-256 of 256 bytes, a 256-bit\n"
    "modexp, all three), interleaved the same way: ns per gas against the\n"
    "arithmetic loop's, to compare their prices with CPU time.\n"
    "--loops skips the precompiled contracts. --reference prints the CPU and\n"
    "the evmone reference only; --cpuinfo reads the CPU model from FILE.\n";

int exp_bench_evm(int argc, char **argv) {
    static const struct option opts[] = {
        {"reps", required_argument, 0, 'r'},   {"no-js", no_argument, 0, 'n'},
        {"evmone", required_argument, 0, 'e'}, {"reference", no_argument, 0, 'R'},
        {"loops", no_argument, 0, 'L'},        {"cpuinfo", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    int rounds = BENCH_MIN_ROUNDS, c;
    bool js = true, only_ref = false, loops_only = false;
    double own[2] = {0, 0};
    const char *cpuinfo = "/proc/cpuinfo";
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:nh", opts, NULL)) != -1) {
        switch (c) {
        case 'r': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 1000) {
                fprintf(stderr, "frugal bench evm: --reps '%s': a count in 1..1000\n", optarg);
                return 2;
            }
            rounds = (int)v;
            break;
        }
        case 'n': js = false; break;
        case 'R': only_ref = true; break;
        case 'L': loops_only = true; break;
        case 'c': cpuinfo = optarg; break;
        case 'e':
            if (parse_evmone(optarg, &own[0], &own[1]) < 0) {
                fprintf(stderr,
                        "frugal bench evm: --evmone '%s': two Mgas/s figures, COUNT,ARITH\n",
                        optarg);
                return 2;
            }
            break;
        case 'h': printf("%s", evm_bench_usage); return 0;
        default: fputs(evm_bench_usage, stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "frugal bench evm: unexpected argument '%s'\n", argv[optind]);
        return 2;
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
    const bench_case cases[2] = {
        {"counting loop", counting, COUNT_N, 2 + 7ull * COUNT_N},
        {"arithmetic loop", arith, ARITH_N, 3 + 20ull * ARITH_N},
    };
    char model[256];
    double mhz;
    if (cpu_model(cpuinfo, model, sizeof model, &mhz) < 0 && strcmp(cpuinfo, "/proc/cpuinfo")) {
        fprintf(stderr, "frugal bench evm: %s: %s\n", cpuinfo, strerror(errno));
        return 4;
    }
    const evmone_ref *ref = evmone_ref_of(model, mhz);
    double lo[2] = {0, 0}, hi[2] = {0, 0};
    printf("CPU: %s, %.0f MHz (%s)\n", model, mhz, cpuinfo);
    if (own[0] > 0) {
        printf("evmone: the figures given with --evmone, taken on this CPU\n");
        for (int i = 0; i < 2; i++)
            lo[i] = hi[i] = own[i];
    } else if (ref) {
        for (int i = 0; i < 2; i++) {
            lo[i] = ref->lo[i];
            hi[i] = ref->hi[i];
        }
        printf("evmone: the reference of %s, %.0f-%.0f and %.0f-%.0f Mgas/s, %s\n", ref->cpu, lo[0],
               hi[0], lo[1], hi[1], EVMONE_SOURCE);
    } else {
        printf("evmone: NO reference for this CPU. The figures known are for");
        for (size_t i = 0; i < sizeof evmone_refs / sizeof evmone_refs[0]; i++)
            printf("%s%s", i ? " and " : " ", evmone_refs[i].cpu);
        printf(" (%s);\nagainst another CPU's figure a ratio means nothing, so x evmone is left "
               "empty (--evmone takes figures taken here).\n",
               EVMONE_SOURCE);
    }
    if (only_ref) return 0;
    printf("%d rounds, the loops interleaved; median, [min, max] over the rounds\n", rounds);
    evm_vm *vm = evm_vm_new();
    evm_memhost *h = vm ? evm_memhost_new(vm) : NULL;
    bench_stat t[2];
    int64_t used[2];
    int rc = 0;
    if (!h) {
        rc = 1;
        goto cleanup;
    }
    const char *hex[2] = {counting, arith}, *names[2] = {cases[0].name, cases[1].name};
    if ((rc = time_loops(vm, h, hex, names, 2, rounds, t, used))) goto cleanup;
    printf("%-16s %8s %17s %8s %10s %9s %12s\n", "bench evm", "Mgas/s", "[min, max]", "ns/insn",
           "x evmone", "ms", "x ethereumjs");
    for (int i = 0; i < 2; i++) {
        double mgas = (double)used[i] / t[i].med / 1e6;
        char ratio[40], vs[40];
        js_ratio(js, hex[i], t[i].med, used[i], ratio, sizeof ratio);
        ratio_text(mgas, lo[i], hi[i], vs, sizeof vs);
        printf("%-16s %8.0f   [%6.0f, %6.0f] %8.2f %10s %9.1f %12s\n", cases[i].name, mgas,
               (double)used[i] / t[i].max / 1e6, (double)used[i] / t[i].min / 1e6,
               t[i].med * 1e9 / (double)cases[i].insns, vs, t[i].med * 1e3, ratio);
        if (lo[i] > 0) {
            char fig[40];
            if (lo[i] == hi[i])
                snprintf(fig, sizeof fig, "%.0f", lo[i]);
            else
                snprintf(fig, sizeof fig, "%.0f-%.0f", lo[i], hi[i]);
            printf("%-16s %8s   (evmone baseline)\n", "", fig);
        }
    }
    if (!loops_only) rc = bench_precompiles(vm, h, rounds, js, t[1].med * 1e9 / (double)used[1]);
cleanup:
    evm_memhost_free(h);
    evm_vm_free(vm);
    return rc;
}
