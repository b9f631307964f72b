/* The EVM subcommands: `frugal evm`, `frugal evm-disasm`, `frugal evm-test`
 * (docs/evm.md). */
#define _GNU_SOURCE
#include "experiments/cli.h"
#include "vm/evm/evm.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 2
#define EXIT_INPUT 3
#define EXIT_IO    4

/* ---- small helpers ---- */

static int parse_b32(const char *s, evm_bytes32 *out) {
    return evm_word_parse(s, out);
}

static int parse_addr(const char *s, evm_address *out) {
    evm_bytes32 w;
    if (evm_word_parse(s, &w) < 0) return -1;
    memcpy(out->b, w.b + 12, 20); /* the low 160 bits */
    return 0;
}

static bool is_zero(const evm_bytes32 *w) {
    static const evm_bytes32 z;
    return memcmp(w->b, z.b, 32) == 0;
}

/* A word that fits an int64_t: 0 with its value, or -1. */
static int word_i64(const evm_bytes32 *w, int64_t *out) {
    uint64_t v = 0;
    for (int i = 0; i < 32; i++) {
        if (i < 24 && w->b[i]) return -1;
        if (i >= 24) v = v << 8 | w->b[i];
    }
    if (v > (uint64_t)INT64_MAX) return -1;
    *out = (int64_t)v;
    return 0;
}

static int64_t parse_i64(const char *s) {
    evm_bytes32 w;
    int64_t v;
    if (evm_word_parse(s, &w) < 0) return 0;
    return word_i64(&w, &v) ? INT64_MAX : v;
}

static void print_hex(FILE *f, const uint8_t *p, size_t n) {
    fputs("0x", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

static const char *jstr(json_t *o, const char *key) {
    json_t *v = o ? json_object_get(o, key) : NULL;
    return v && json_is_string(v) ? json_string_value(v) : NULL;
}

/* ---- evm-test ---- */

typedef struct {
    int passed, failed;
    bool verbose;
} test_stats;

/* Runs one legacy VM test; returns 0 pass, 1 fail; a line per failure. */
static int run_vmtest(const char *file, const char *name, json_t *t, evm_vm *vm, bool verbose) {
    int rc = 1;
    evm_memhost *h = NULL;
    uint8_t *code = NULL, *data = NULL, *want_out = NULL;
    size_t code_n = 0, data_n = 0, want_n = 0;
    char why[512] = "";
    json_t *exec = json_object_get(t, "exec"), *env = json_object_get(t, "env");
    json_t *pre = json_object_get(t, "pre"), *post = json_object_get(t, "post");
    if (!exec || !env || !pre) {
        snprintf(why, sizeof why, "malformed test (no exec/env/pre)");
        goto done;
    }
    evm_vm_set_fork(vm, EVM_FORK_FRONTIER);
    evm_vm_set_policy(vm, NULL, NULL);
    h = evm_memhost_new(vm);
    if (!h) {
        snprintf(why, sizeof why, "out of memory");
        goto done;
    }
    evm_memhost_set_record_calls(h, true);
    evm_context *ctx = evm_memhost_context(h);
    parse_addr(jstr(exec, "origin"), &ctx->origin);
    parse_b32(jstr(exec, "gasPrice"), &ctx->gas_price);
    parse_addr(jstr(env, "currentCoinbase"), &ctx->coinbase);
    parse_b32(jstr(env, "currentDifficulty"), &ctx->prev_randao);
    ctx->gas_limit = parse_i64(jstr(env, "currentGasLimit"));
    ctx->number = parse_i64(jstr(env, "currentNumber"));
    ctx->timestamp = parse_i64(jstr(env, "currentTimestamp"));
    const char *key;
    json_t *acct;
    json_object_foreach(pre, key, acct) {
        evm_address a;
        evm_bytes32 bal;
        uint8_t *c = NULL;
        size_t cn = 0;
        if (parse_addr(key, &a) < 0 || parse_b32(jstr(acct, "balance"), &bal) < 0 ||
            evm_hex_decode(jstr(acct, "code") ? jstr(acct, "code") : "", &c, &cn) < 0) {
            snprintf(why, sizeof why, "malformed pre account %s", key);
            goto done;
        }
        evm_memhost_set_balance(h, &a, &bal);
        evm_memhost_set_nonce(h, &a, (uint64_t)parse_i64(jstr(acct, "nonce")));
        evm_memhost_set_code(h, &a, c, cn);
        free(c);
        const char *sk;
        json_t *sv;
        json_object_foreach(json_object_get(acct, "storage"), sk, sv) {
            evm_bytes32 k, v;
            if (parse_b32(sk, &k) < 0 || parse_b32(json_string_value(sv), &v) < 0) {
                snprintf(why, sizeof why, "malformed pre storage");
                goto done;
            }
            evm_memhost_set_storage(h, &a, &k, &v);
        }
    }
    evm_memhost_begin_tx(h, NULL, 0);
    evm_message msg;
    memset(&msg, 0, sizeof msg);
    msg.kind = EVM_CALL_CALL;
    msg.gas = parse_i64(jstr(exec, "gas"));
    if (parse_addr(jstr(exec, "address"), &msg.recipient) < 0 ||
        parse_addr(jstr(exec, "caller"), &msg.sender) < 0 ||
        parse_b32(jstr(exec, "value"), &msg.value) < 0 ||
        evm_hex_decode(jstr(exec, "code") ? jstr(exec, "code") : "", &code, &code_n) < 0 ||
        evm_hex_decode(jstr(exec, "data") ? jstr(exec, "data") : "", &data, &data_n) < 0) {
        snprintf(why, sizeof why, "malformed exec");
        goto done;
    }
    msg.code_address = msg.recipient;
    msg.input = data;
    msg.input_size = data_n;
    evm_result res;
    evm_execute(vm, &evm_memhost_iface, h, &msg, code, code_n, &res);

    bool expect_halt = !post && !json_object_get(t, "gas");
    if (expect_halt) {
        if (!evm_status_is_exceptional(res.status))
            snprintf(why, sizeof why, "expected an exceptional halt, got %s with gas %" PRId64,
                     evm_status_name(res.status), res.gas_left);
        else
            rc = 0;
        goto done;
    }
    if (evm_status_is_exceptional(res.status)) {
        snprintf(why, sizeof why, "unexpected halt %s", evm_status_name(res.status));
        goto done;
    }
    int64_t want_gas = parse_i64(jstr(t, "gas"));
    if (res.gas_left != want_gas) {
        snprintf(why, sizeof why, "gas left %" PRId64 ", expected %" PRId64 " (status %s)",
                 res.gas_left, want_gas, evm_status_name(res.status));
        goto done;
    }
    if (evm_hex_decode(jstr(t, "out") ? jstr(t, "out") : "", &want_out, &want_n) < 0) {
        snprintf(why, sizeof why, "malformed out");
        goto done;
    }
    if (want_n != res.output_size || (want_n && memcmp(want_out, res.output, want_n))) {
        snprintf(why, sizeof why, "out differs (%zu bytes, expected %zu)", res.output_size, want_n);
        goto done;
    }
    const char *logs = jstr(t, "logs");
    if (logs) {
        uint8_t lh[32];
        evm_memhost_logs_hash(h, lh);
        evm_bytes32 want;
        parse_b32(logs, &want);
        if (memcmp(lh, want.b, 32)) {
            snprintf(why, sizeof why, "logs hash differs (%zu logs)", evm_memhost_nlogs(h));
            goto done;
        }
    }
    json_t *cc = json_object_get(t, "callcreates");
    if (cc) {
        size_t n = json_array_size(cc);
        if (n != evm_memhost_ncallcreates(h)) {
            snprintf(why, sizeof why, "%zu callcreates, expected %zu", evm_memhost_ncallcreates(h),
                     n);
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_array_get(cc, i);
            const evm_callcreate *c = evm_memhost_callcreate(h, i);
            uint8_t *d = NULL;
            size_t dn = 0;
            evm_address to = {{0}};
            evm_bytes32 v;
            const char *dest = jstr(e, "destination");
            if (dest && *dest) parse_addr(dest, &to);
            parse_b32(jstr(e, "value"), &v);
            evm_hex_decode(jstr(e, "data") ? jstr(e, "data") : "", &d, &dn);
            bool same = c->gas == parse_i64(jstr(e, "gasLimit")) && !memcmp(to.b, c->to.b, 20) &&
                        !memcmp(v.b, c->value.b, 32) && dn == c->size &&
                        (!dn || !memcmp(d, c->data, dn));
            free(d);
            if (!same) {
                snprintf(why, sizeof why, "callcreate %zu differs", i);
                goto done;
            }
        }
    }
    json_object_foreach(post, key, acct) {
        evm_address a;
        parse_addr(key, &a);
        json_t *st = json_object_get(acct, "storage");
        size_t nwant = 0;
        const char *sk;
        json_t *sv;
        json_object_foreach(st, sk, sv) {
            evm_bytes32 k, v, got;
            parse_b32(sk, &k);
            parse_b32(json_string_value(sv), &v);
            if (is_zero(&v)) continue;
            nwant++;
            evm_memhost_get_storage(h, &a, &k, &got);
            if (memcmp(v.b, got.b, 32)) {
                snprintf(why, sizeof why, "storage of %s at %s differs", key, sk);
                goto done;
            }
        }
        size_t have = evm_memhost_storage(h, &a, 0, NULL, NULL);
        if (have != nwant) {
            snprintf(why, sizeof why, "%s has %zu storage slots, expected %zu", key, have, nwant);
            goto done;
        }
    }
    rc = 0;
done:
    if (rc)
        printf("FAIL %s (%s): %s\n", file, name, why);
    else if (verbose)
        printf("ok   %s (%s)\n", file, name);
    free(code);
    free(data);
    free(want_out);
    evm_memhost_free(h);
    return rc;
}

static void run_file(const char *path, evm_vm *vm, test_stats *s) {
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root || !json_is_object(root)) {
        printf("FAIL %s: cannot parse: %s\n", path, err.text);
        s->failed++;
        json_decref(root);
        return;
    }
    const char *name;
    json_t *t;
    json_object_foreach(root, name, t) {
        if (run_vmtest(path, name, t, vm, s->verbose))
            s->failed++;
        else
            s->passed++;
    }
    json_decref(root);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Recursively runs the .json files under dir, in sorted order. */
static int run_dir(const char *dir, evm_vm *vm, test_stats *s) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (base_grow((void **)&names, &cap, n + 1, sizeof *names, SIZE_MAX)) {
            rc = -1;
            goto cleanup;
        }
        if (asprintf(&names[n], "%s/%s", dir, e->d_name) < 0) {
            rc = -1;
            goto cleanup;
        }
        n++;
    }
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) < 0) continue;
        if (S_ISDIR(st.st_mode)) {
            run_dir(names[i], vm, s);
        } else {
            size_t l = strlen(names[i]);
            if (l > 5 && !strcmp(names[i] + l - 5, ".json")) run_file(names[i], vm, s);
        }
    }
cleanup:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

int exp_cmd_evm_test(int argc, char **argv) {
    static const struct option opts[] = {
        {"verbose", no_argument, 0, 'v'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    test_stats s = {0, 0, false};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case 'v': s.verbose = true; break;
        case 'h':
            printf("usage: %s DIR [--verbose]\n"
                   "Runs the legacy Ethereum VM tests (JSON, recursively under DIR) with the\n"
                   "Frontier schedule; compares gas left, out, post storage, the logs hash and\n"
                   "callcreates. Prints a line per failure and a summary line.\n",
                   argv[0]);
            return EXIT_OK;
        default: return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: %s DIR [--verbose]\n", argv[0]);
        return EXIT_USAGE;
    }
    int passed = 0, failed = 0;
    int rc = exp_evm_vmtests_run(argv[optind], s.verbose, &passed, &failed);
    if (rc < 0) {
        fprintf(stderr, "%s: %s: %s\n", argv[0], argv[optind], strerror(errno));
        return EXIT_IO;
    }
    printf("evm-test: %d passed, %d failed\n", passed, failed);
    return failed ? EXIT_FAIL : EXIT_OK;
}

int exp_evm_vmtests_run(const char *dir, bool verbose, int *passed, int *failed) {
    test_stats s = {0, 0, verbose};
    evm_vm *vm = evm_vm_new();
    if (!vm) return -1;
    struct stat st;
    int rc = 0;
    if (stat(dir, &st) < 0)
        rc = -1;
    else if (S_ISDIR(st.st_mode))
        rc = run_dir(dir, vm, &s);
    else
        run_file(dir, vm, &s);
    evm_vm_free(vm);
    *passed = s.passed;
    *failed = s.failed;
    return rc;
}

/* ---- evm (run) ---- */

/* Reads CODE_HEX or a file holding hex text or raw bytecode. */
/* Code from arg: hex, or a file of hex or raw bytes. 0, EXIT_IO when arg is
 * not hex and names no readable file (errno says why), or EXIT_INPUT. */
static int load_code(const char *arg, uint8_t **code, size_t *n) {
    FILE *f = fopen(arg, "rb");
    if (!f) {
        int e = errno;
        if (evm_hex_decode(arg, code, n) == 0) return 0;
        errno = e;
        return EXIT_IO;
    }
    base_buf b = {0};
    int rc = 0;
    if (base_read_all(f, &b, SIZE_MAX) || base_buf_reserve(&b, 1)) {
        rc = EXIT_IO;
        goto done;
    }
    char *buf = (char *)b.data;
    size_t len = b.len;
    buf[len] = 0;
    if (strlen(buf) == len && evm_hex_decode(buf, code, n) == 0) goto done;
    *code = malloc(len ? len : 1); /* not hex: raw bytecode */
    if (!*code) {
        rc = EXIT_IO;
        goto done;
    }
    memcpy(*code, buf, len);
    *n = len;
done:
    base_buf_free(&b);
    fclose(f);
    return rc;
}

static void hex_word(FILE *f, const evm_bytes32 *w) {
    char h[80];
    evm_word_hex(w, h);
    fputs(h, f);
}

/* EIP-3155 trace lines, as geth and evmone print them. */
static void trace_3155(void *ctx, const evm_step *s) {
    FILE *f = ctx;
    const evm_opinfo *oi = evm_opinfo_of(s->op);
    fprintf(f,
            "{\"pc\":%u,\"op\":%u,\"gas\":\"0x%" PRIx64 "\",\"gasCost\":\"0x%" PRIx64
            "\",\"memSize\":%zu,\"stack\":[",
            s->pc, s->op, (uint64_t)s->gas, (uint64_t)s->cost, s->mem_size);
    for (size_t i = 0; i < s->stack_size; i++) {
        if (i) fputc(',', f);
        fputc('"', f);
        hex_word(f, &s->stack[i]);
        fputc('"', f);
    }
    fprintf(f, "],\"depth\":%d,\"refund\":%" PRId64 ",\"opName\":\"%s\"}\n", s->depth + 1,
            s->refund, oi->name ? oi->name : "INVALID");
}

static void run_usage(FILE *f, const char *prog) {
    fprintf(f,
            "usage: %s CODE_HEX|FILE [--fork NAME] [--gas N] [--calldata HEX] [--value N]\n"
            "       [--policy POLICY] [--trace]\n"
            "Runs EVM bytecode as a call to 0x...aa from 0x...cc in an in-memory state and\n"
            "prints the status, gas used, refund, return data, storage and logs.\n"
            "  --fork NAME     frontier .. cancun (default cancun)\n"
            "  --gas N         gas limit (default 30000000)\n"
            "  --calldata HEX  call data\n"
            "  --value N       call value (the caller has 10^30 wei)\n"
            "  --policy POLICY the hypervisor policy for dangerous opcodes (default allow):\n"
            "                  allow                  everything\n"
            "                  isolated               SSTORE only; calls, creates, LOG and\n"
            "                                         SELFDESTRUCT denied\n"
            "                  keys:ITEM[,ITEM...]    calls only to listed callees; ITEM is\n"
            "                                         CALLEE (for every caller) or CALLER:CALLEE\n"
            "                                         (for that caller only), hex addresses\n"
            "                                         (0x02 is 2); SSTORE and LOG allowed;\n"
            "                                         creates and SELFDESTRUCT denied\n"
            "                  tables:BITS            SSTORE only to slots whose top BITS bits\n"
            "                                         (1..256) are zero; LOG allowed; calls,\n"
            "                                         creates and SELFDESTRUCT denied\n"
            "  --trace         EIP-3155 JSON lines on stderr\n"
            "Precompiled contracts 0x01..0x0a run per fork: ecrecover, SHA-256, RIPEMD-160,\n"
            "identity (Frontier on), modexp and alt_bn128 add, mul, pairing (Byzantium on),\n"
            "blake2f (Istanbul on), KZG point evaluation (Cancun), checked against the\n"
            "ceremony's trusted setup; a call whose input they reject consumes its gas.\n",
            prog);
}

int exp_cmd_evm(int argc, char **argv) {
    static const struct option opts[] = {
        {"fork", required_argument, 0, 'f'},     {"gas", required_argument, 0, 'g'},
        {"calldata", required_argument, 0, 'd'}, {"value", required_argument, 0, 'v'},
        {"policy", required_argument, 0, 'p'},   {"trace", no_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    int fork = EVM_FORK_DEFAULT, c, rc = EXIT_OK;
    int64_t gas = 30000000;
    const char *calldata = "", *value = "0";
    evm_policy_spec *policy = NULL;
    bool trace = false;
    uint8_t *code = NULL, *data = NULL;
    size_t code_n = 0, data_n = 0;
    evm_vm *vm = NULL;
    evm_memhost *h = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:g:d:v:p:th", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if ((fork = evm_fork_by_name(optarg)) < 0) {
                fprintf(stderr, "%s: unknown fork %s\n", argv[0], optarg);
                rc = EXIT_USAGE;
                goto cleanup;
            }
            break;
        case 'g': {
            evm_bytes32 g;
            if (evm_word_parse(optarg, &g) < 0 || word_i64(&g, &gas) < 0) {
                fprintf(stderr, "%s: bad gas %s\n", argv[0], optarg);
                rc = EXIT_USAGE;
                goto cleanup;
            }
            break;
        }
        case 'd': calldata = optarg; break;
        case 'v': value = optarg; break;
        case 'p': {
            char err[256];
            evm_policy_spec_free(policy);
            if (!(policy = evm_policy_parse(optarg, err, sizeof err))) {
                fprintf(stderr, "%s: --policy %s\n", argv[0], err);
                rc = EXIT_USAGE;
                goto cleanup;
            }
            break;
        }
        case 't': trace = true; break;
        case 'h': run_usage(stdout, argv[0]); goto cleanup;
        default:
            run_usage(stderr, argv[0]);
            rc = EXIT_USAGE;
            goto cleanup;
        }
    }
    if (optind != argc - 1) {
        run_usage(stderr, argv[0]);
        rc = EXIT_USAGE;
        goto cleanup;
    }
    if ((rc = load_code(argv[optind], &code, &code_n))) {
        fprintf(stderr, "%s: cannot read code from %s%s%s\n", argv[0], argv[optind],
                rc == EXIT_IO ? ": " : "", rc == EXIT_IO ? strerror(errno) : "");
        goto cleanup;
    }
    if (evm_hex_decode(calldata, &data, &data_n) < 0) {
        fprintf(stderr, "%s: bad calldata\n", argv[0]);
        rc = EXIT_USAGE;
        goto cleanup;
    }
    evm_message m;
    memset(&m, 0, sizeof m);
    if (parse_b32(value, &m.value) < 0) {
        fprintf(stderr, "%s: bad value\n", argv[0]);
        rc = EXIT_USAGE;
        goto cleanup;
    }
    vm = evm_vm_new();
    h = vm ? evm_memhost_new(vm) : NULL;
    if (!h) {
        rc = EXIT_FAIL;
        goto cleanup;
    }
    evm_vm_set_fork(vm, (evm_fork)fork);
    if (policy) evm_vm_set_policy(vm, policy->fn, policy->ctx);
    if (trace) evm_vm_set_tracer(vm, trace_3155, stderr);
    m.kind = EVM_CALL_CALL;
    m.gas = gas;
    m.recipient.b[19] = 0xaa;
    m.code_address = m.recipient;
    m.sender.b[19] = 0xcc;
    m.input = data;
    m.input_size = data_n;
    evm_memhost_context(h)->origin = m.sender;
    evm_bytes32 rich;
    parse_b32("1000000000000000000000000000000", &rich); /* 10^30 wei */
    evm_memhost_set_balance(h, &m.sender, &rich);
    evm_memhost_set_code(h, &m.recipient, code, code_n);
    evm_memhost_begin_tx(h, &m.recipient, 1);
    evm_result r;
    evm_memhost_transact(h, &m, &r);
    int64_t used = gas - r.gas_left;
    if (trace) {
        fprintf(stderr, "{\"output\":\"");
        for (size_t i = 0; i < r.output_size; i++)
            fprintf(stderr, "%02x", r.output[i]);
        fprintf(stderr, "\",\"gasUsed\":\"0x%" PRIx64 "\"", (uint64_t)used);
        if (r.status != EVM_SUCCESS)
            fprintf(stderr, ",\"error\":\"%s\"", evm_status_name(r.status));
        fprintf(stderr, "}\n");
    }
    printf("status: %s\n", evm_status_name(r.status));
    printf("gas used: %" PRId64 "\n", used);
    printf("gas refund: %" PRId64 "\n", r.gas_refund);
    printf("return: ");
    print_hex(stdout, r.output, r.output_size);
    printf("\n");
    size_t ns = evm_memhost_storage(h, &m.recipient, 0, NULL, NULL);
    printf("storage: %zu slot%s\n", ns, ns == 1 ? "" : "s");
    for (size_t i = 0; i < ns; i++) {
        evm_bytes32 k, v;
        evm_memhost_storage(h, &m.recipient, i, &k, &v);
        printf("  ");
        hex_word(stdout, &k);
        printf(": ");
        hex_word(stdout, &v);
        printf("\n");
    }
    size_t nl = evm_memhost_nlogs(h);
    printf("logs: %zu\n", nl);
    for (size_t i = 0; i < nl; i++) {
        const evm_log *l = evm_memhost_log(h, i);
        printf("  topics [");
        for (size_t k = 0; k < l->ntopics; k++) {
            if (k) printf(", ");
            hex_word(stdout, &l->topics[k]);
        }
        printf("] data ");
        print_hex(stdout, l->data, l->size);
        printf("\n");
    }
    rc = r.status == EVM_SUCCESS ? EXIT_OK : EXIT_FAIL;
cleanup:
    evm_memhost_free(h);
    evm_vm_free(vm);
    evm_policy_spec_free(policy);
    free(code);
    free(data);
    return rc;
}

/* ---- evm-disasm ---- */

int exp_cmd_evm_disasm(int argc, char **argv) {
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            printf("usage: %s CODE_HEX|FILE\n"
                   "Disassembles EVM bytecode (hex text or raw bytes in FILE), one\n"
                   "instruction per line with its offset.\n",
                   argv[0]);
            return EXIT_OK;
        }
        return EXIT_USAGE;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: %s CODE_HEX|FILE\n", argv[0]);
        return EXIT_USAGE;
    }
    uint8_t *code = NULL;
    size_t n = 0;
    int rc = load_code(argv[optind], &code, &n);
    if (rc) {
        fprintf(stderr, "%s: cannot read code from %s%s%s\n", argv[0], argv[optind],
                rc == EXIT_IO ? ": " : "", rc == EXIT_IO ? strerror(errno) : "");
        return rc;
    }
    evm_disasm(code, n, stdout);
    free(code);
    return EXIT_OK;
}
