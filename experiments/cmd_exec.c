/* frugal exec: run one native program and show what it did. */
#include "experiments/cli.h"
#include "vm/vm.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int exp_read_file(const char *path, vm_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "frugal: cannot open %s: %s\n", path, strerror(errno));
        return EXP_EXIT_IO;
    }
    int rc = EXP_EXIT_OK;
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (out->len + n > out->cap) {
            size_t cap = (out->cap ? out->cap * 2 : 65536);
            while (cap < out->len + n) cap *= 2;
            uint8_t *p = realloc(out->data, cap);
            if (!p) {
                fprintf(stderr, "frugal: %s: out of memory\n", path);
                rc = EXP_EXIT_IO;
                goto cleanup;
            }
            out->data = p;
            out->cap = cap;
        }
        memcpy(out->data + out->len, chunk, n);
        out->len += n;
    }
    if (ferror(f)) {
        fprintf(stderr, "frugal: cannot read %s: %s\n", path, strerror(errno));
        rc = EXP_EXIT_IO;
    }
cleanup:
    fclose(f);
    return rc;
}

int exp_load_program(const char *path, vm_buf *code)
{
    vm_buf src = {0};
    int rc = exp_read_file(path, &src);
    if (rc) goto cleanup;
    size_t n = strlen(path);
    if (n >= 2 && !strcmp(path + n - 2, ".s")) {
        if (vm_asm((const char *)src.data, src.len, path, code, stderr)) rc = EXP_EXIT_INPUT;
    } else {
        *code = src;
        src = (vm_buf){0};
    }
    if (!rc && code->len > VM_MAX_CODE) {
        fprintf(stderr, "frugal: %s: %zu bytes is over the code limit of %u\n", path, code->len,
                VM_MAX_CODE);
        rc = EXP_EXIT_INPUT;
    }
cleanup:
    vm_buf_free(&src);
    return rc;
}

int exp_parse_u64(const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-' || !*s) goto bad;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end) goto bad;
    *out = v;
    return 0;
bad:
    fprintf(stderr, "frugal: %s expects a non-negative integer, got '%s'\n", opt, s);
    return -1;
}

static void trace_step(void *ctx, const vm_arena *a, uint32_t pc)
{
    vm_insn in;
    char text[64] = "END";
    vm_buf *b = (vm_buf *)ctx;
    if (pc < b->len) {
        vm_decode(b->data, b->len, pc, &in);
        vm_insn_text(&in, text, sizeof text);
    }
    uint32_t d = vm_depth(a);
    fprintf(stderr, "pc=%04" PRIu32 " %-16s gas_left=%" PRIu64 " depth=%" PRIu32, pc, text,
            vm_gas_left(a), d);
    if (d) fprintf(stderr, " top=%" PRId64, vm_stack(a)[d - 1]);
    fputc('\n', stderr);
}

static const char exec_usage[] =
    "usage: frugal exec FILE(.s|.bin) [--gas N] [--mem N] [--memtime N] [--stack N]\n"
    "                   [--calls N] [--push V]... [--trace]\n"
    "Runs a native program (assembled first if FILE ends in .s) and prints its\n"
    "status, meters and final stack.\n"
    "  --gas N       gas limit (default 1000000)\n"
    "  --mem N       memory limit in words: stack + heap + call frames (default 65536)\n"
    "  --memtime N   memory-time limit in word-gas (default unlimited)\n"
    "  --stack N     stack depth limit (default 1024)\n"
    "  --calls N     call depth limit (default 256)\n"
    "  --push V      push V on the initial stack (repeatable, bottom first)\n"
    "  --trace       print pc, instruction, gas left and top of stack at every step\n"
    "Exit status: 0 if the program halted or yielded, 1 if it stopped for any\n"
    "other reason, 2 for bad arguments, 3 for a bad program file.\n";

int exp_cmd_exec(int argc, char **argv)
{
    static const struct option opts[] = {
        {"gas", required_argument, 0, 'g'},   {"mem", required_argument, 0, 'm'},
        {"memtime", required_argument, 0, 't'}, {"stack", required_argument, 0, 's'},
        {"calls", required_argument, 0, 'c'}, {"push", required_argument, 0, 'p'},
        {"trace", no_argument, 0, 'T'},       {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    vm_limits lim = {0};
    bool trace = false;
    vm_word pushes[256];
    int npush = 0;
    int c, rc = EXP_EXIT_OK;
    uint64_t v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'g': if (exp_parse_u64("--gas", optarg, &lim.gas)) return EXP_EXIT_USAGE; break;
        case 'm':
            if (exp_parse_u64("--mem", optarg, &v)) return EXP_EXIT_USAGE;
            lim.mem = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
            break;
        case 't': if (exp_parse_u64("--memtime", optarg, &lim.memtime)) return EXP_EXIT_USAGE; break;
        case 's':
            if (exp_parse_u64("--stack", optarg, &v)) return EXP_EXIT_USAGE;
            lim.stack = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
            break;
        case 'c':
            if (exp_parse_u64("--calls", optarg, &v)) return EXP_EXIT_USAGE;
            lim.calls = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
            break;
        case 'p': {
            char *end;
            errno = 0;
            long long w = strtoll(optarg, &end, 0);
            if (errno || *end || npush == 256) {
                fprintf(stderr, "frugal exec: --push expects an int64 (at most 256), got '%s'\n",
                        optarg);
                return EXP_EXIT_USAGE;
            }
            pushes[npush++] = w;
            break;
        }
        case 'T': trace = true; break;
        case 'h': fputs(exec_usage, stdout); return EXP_EXIT_OK;
        default: fputs(exec_usage, stderr); return EXP_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fputs(exec_usage, stderr);
        return EXP_EXIT_USAGE;
    }
    const char *path = argv[optind];
    vm_buf code = {0};
    vm_arena *a = NULL;
    rc = exp_load_program(path, &code);
    if (rc) goto cleanup;
    a = vm_arena_new();
    if (!a || vm_load(a, code.data, code.len) || vm_set_limits(a, &lim)) {
        fprintf(stderr, "frugal exec: out of memory\n");
        rc = EXP_EXIT_IO;
        goto cleanup;
    }
    for (int i = 0; i < npush; i++)
        if (vm_push(a, pushes[i])) {
            fprintf(stderr, "frugal exec: --push: initial stack exceeds the limits\n");
            rc = EXP_EXIT_USAGE;
            goto cleanup;
        }
    if (trace) vm_set_trace(a, trace_step, &code);
    vm_status s = vm_run(a);
    vm_meters m;
    vm_meters_get(a, &m);
    vm_get_limits(a, &lim);
    printf("status   %s (%s)\n", vm_status_name(s), vm_status_doc(s));
    printf("ip       %" PRIu32 "\n", vm_ip(a));
    printf("gas      %" PRIu64 " used of %" PRIu64 "\n", m.gas, lim.gas);
    printf("memtime  %" PRIu64 " word-gas\n", m.memtime);
    printf("memory   %" PRIu32 " words in use of %" PRIu32 " (heap %" PRIu32 ")\n", m.mem,
           lim.mem, vm_msize(a));
    printf("stack   ");
    for (uint32_t i = 0; i < vm_depth(a); i++) printf(" %" PRId64, vm_stack(a)[i]);
    printf("%s\n", vm_depth(a) ? "   (bottom first)" : " (empty)");
    rc = (s == VM_HALTED || s == VM_YIELDED) ? EXP_EXIT_OK : EXP_EXIT_FAIL;
cleanup:
    vm_arena_free(a);
    vm_buf_free(&code);
    return rc;
}
