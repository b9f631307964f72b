/* frugal exec: run one native program and show what it did. */
#include "experiments/cli.h"
#include "vm/vm.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int exp_read_file(const char *path, vm_buf *out) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "frugal: cannot open %s: %s\n", path, strerror(errno));
        return EXP_EXIT_IO;
    }
    int rc = EXP_EXIT_OK;
    switch (base_read_all(f, out, SIZE_MAX)) {
    case 0: break;
    case BASE_READ_ERROR:
        fprintf(stderr, "frugal: cannot read %s: %s\n", path, strerror(errno));
        rc = EXP_EXIT_IO;
        break;
    default:
        fprintf(stderr, "frugal: %s: out of memory\n", path);
        rc = EXP_EXIT_IO;
        break;
    }
    fclose(f);
    return rc;
}

int exp_asm(const char *src, size_t len, const char *fname, vm_buf *out) {
    /* room for thousands of errors; past that the last line counts the rest */
    size_t cap = 1u << 18;
    char small[1024], *err = malloc(cap);
    if (!err) {
        err = small;
        cap = sizeof small;
    }
    int nerr = 0;
    if (vm_asm(src, len, fname, out, &nerr, err, cap)) fprintf(stderr, "%s\n", err);
    if (err != small) free(err);
    return nerr;
}

int exp_load_program(const char *path, vm_buf *code) {
    vm_buf src = {0};
    int rc = exp_read_file(path, &src);
    if (rc) goto cleanup;
    size_t n = strlen(path);
    if (n >= 2 && !strcmp(path + n - 2, ".s")) {
        if (exp_asm((const char *)src.data, src.len, path, code)) rc = EXP_EXIT_INPUT;
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

int exp_find_file(const char *rel, char *out, size_t cap) {
    if (access(rel, R_OK) == 0) return snprintf(out, cap, "%s", rel) >= (int)cap ? -1 : 0;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = 0;
    char *dir = dirname(exe);
    for (int up = 0; up < 3; up++) {
        if (snprintf(out, cap, "%s/%s", dir, rel) < (int)cap && access(out, R_OK) == 0) return 0;
        dir = dirname(dir);
    }
    return -1;
}

int exp_parse_u64(const char *opt, const char *s, uint64_t *out) {
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

static void trace_step(void *ctx, const vm_machine *a, uint32_t pc) {
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

/* Depth of process id in the ownership tree (the root is 0). */
static uint32_t tree_depth(const vm_machine *a, uint32_t id) {
    uint32_t d = 0;
    vm_proc_info pi;
    while (vm_proc_get(a, id, &pi) == 0 && pi.parent != UINT32_MAX && d <= VM_MAX_NEST) {
        id = pi.parent;
        d++;
    }
    return d;
}

void exp_print_run(const vm_machine *a, FILE *f) {
    vm_meters m;
    vm_limits lim;
    vm_meters_get(a, &m);
    vm_get_limits(a, &lim);
    vm_status s = vm_status_get(a);
    fprintf(f, "status   %s (%s)\n", vm_status_name(s), vm_status_doc(s));
    fprintf(f, "ip       %" PRIu32 "\n", vm_ip(a));
    fprintf(f, "gas      %" PRIu64 " used of %" PRIu64 "\n", m.gas, lim.gas);
    fprintf(f, "memtime  %" PRIu64 " word-gas\n", m.memtime);
    fprintf(f, "memory   %" PRIu32 " words in use of %" PRIu32 " (heap %" PRIu32 ")\n", m.mem,
            lim.mem, vm_msize(a));
    uint32_t live = 0, depth = 0;
    for (uint32_t id = 0; id < vm_nprocs(a); id++) {
        vm_proc_info pi;
        if (vm_proc_get(a, id, &pi) || !pi.live) continue;
        live++;
        uint32_t d = tree_depth(a, id);
        if (d > depth) depth = d;
    }
    if (live > 1) fprintf(f, "tree     %" PRIu32 " processes, depth %" PRIu32 "\n", live, depth);
    fprintf(f, "stack   ");
    for (uint32_t i = 0; i < vm_depth(a); i++)
        fprintf(f, " %" PRId64, vm_stack(a)[i]);
    fprintf(f, "%s\n", vm_depth(a) ? "   (bottom first)" : " (empty)");
}

static bool resumable(vm_status s) {
    return s == VM_OUT_OF_GAS || s == VM_OUT_OF_MEMORY || s == VM_OUT_OF_MEMTIME ||
           s == VM_YIELDED || s == VM_CHANNEL_EMPTY || s == VM_CHANNEL_FULL ||
           s == VM_STACK_OVERFLOW || s == VM_CALL_OVERFLOW || s == VM_NEST_LIMIT;
}

/* --depth N: the nesting limit, 1 to VM_MAX_NEST (0 would mean the default). */
static int parse_depth(const char *cmd, const char *s, uint32_t *out) {
    uint64_t v;
    if (exp_parse_u64("--depth", s, &v)) return -1;
    if (v < 1 || v > VM_MAX_NEST) {
        fprintf(stderr, "frugal %s: --depth must be 1 to %u, got %s\n", cmd, VM_MAX_NEST, s);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

/* Save the machine if it stopped in a way that can be resumed. */
int exp_save_snapshot(const vm_machine *a, const char *path) {
    if (!resumable(vm_status_get(a))) {
        fprintf(stderr,
                "frugal: %s not written: the program stopped with %s, which is not "
                "resumable\n",
                path, vm_status_name(vm_status_get(a)));
        return 0;
    }
    vm_buf b = {0};
    int rc = 0;
    if (vm_snapshot_save(a, &b)) {
        fprintf(stderr,
                "frugal: %s not written: out of memory, or an EVM state the snapshot format "
                "cannot hold (a policy with a context, a tracer, blob hashes)\n",
                path);
        rc = -1;
        goto cleanup;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f || fwrite(b.data, 1, b.len, f) != b.len || fclose(f) != 0) {
        fprintf(stderr, "frugal: cannot write %s: %s\n", tmp, strerror(errno));
        if (f) fclose(f);
        remove(tmp);
        rc = -1;
        goto cleanup;
    }
    if (rename(tmp, path) != 0) { /* atomically: never a half-written snapshot */
        fprintf(stderr, "frugal: cannot rename %s to %s: %s\n", tmp, path, strerror(errno));
        remove(tmp);
        rc = -1;
        goto cleanup;
    }
    fprintf(stderr, "frugal: snapshot written to %s (%zu bytes)\n", path, b.len);
cleanup:
    vm_buf_free(&b);
    return rc;
}

/* Load a snapshot file into a; prints the error (file, offset, problem). */
int exp_load_snapshot(vm_machine *a, const char *path) {
    vm_buf b = {0};
    int rc = exp_read_file(path, &b);
    if (rc) return rc;
    char err[256];
    if (vm_snapshot_load(a, b.data, b.len, err, sizeof err)) {
        fprintf(stderr, "frugal: %s: %s\n", path, err);
        rc = EXP_EXIT_INPUT;
    }
    vm_buf_free(&b);
    return rc;
}

/* --page-in: the file's bytes as a page, the root's key 0 (it has no other
 * key yet). */
static int page_from_file(vm_machine *a, const char *path) {
    vm_buf b = {0};
    int rc = exp_read_file(path, &b);
    if (rc) return rc;
    size_t n = (b.len + 7) / 8;
    vm_word *w = calloc(n ? n : 1, sizeof *w);
    if (!w) {
        fprintf(stderr, "frugal exec: %s: out of memory\n", path);
        rc = EXP_EXIT_IO;
        goto cleanup;
    }
    for (size_t i = 0; i < b.len; i++)
        w[i / 8] = (vm_word)((uint64_t)w[i / 8] | (uint64_t)b.data[i] << (8 * (i % 8)));
    if (n > VM_MAX_MEM || vm_grant_page(a, w, (uint32_t)n) != 0) {
        fprintf(stderr, "frugal exec: --page-in %s: %zu words do not fit the limits\n", path, n);
        rc = EXP_EXIT_INPUT;
    }
cleanup:
    free(w);
    vm_buf_free(&b);
    return rc;
}

/* --page-out: the page of the root's key k, 8 bytes a word, written whole
 * (through a temporary file, as snapshots are). */
static int page_to_file(const vm_machine *a, const char *path, uint64_t k) {
    const vm_word *w;
    uint32_t n;
    if (k > UINT32_MAX || vm_key_page(a, 0, (uint32_t)k, &w, &n)) {
        fprintf(stderr, "frugal exec: --page-out %s not written: key %llu names no page\n", path,
                (unsigned long long)k);
        return EXP_EXIT_FAIL;
    }
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        fprintf(stderr, "frugal exec: --page-out: path too long\n");
        return EXP_EXIT_USAGE;
    }
    FILE *f = fopen(tmp, "wb");
    bool ok = f != NULL;
    for (uint32_t i = 0; ok && i < n; i++) {
        uint8_t b[8];
        base_le_put(b, (uint64_t)w[i], 8);
        ok = fwrite(b, 1, 8, f) == 8;
    }
    if (f && fclose(f) != 0) ok = false;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "frugal exec: cannot write %s: %s\n", path, strerror(errno));
        remove(tmp);
        return EXP_EXIT_IO;
    }
    fprintf(stderr, "frugal: page written to %s (%llu bytes)\n", path, (unsigned long long)n * 8);
    return EXP_EXIT_OK;
}

static const char exec_usage[] =
    "usage: frugal exec FILE(.s|.bin) [--gas N] [--mem N] [--memtime N] [--stack N]\n"
    "                   [--calls N] [--depth N] [--push V]... [--arg V]... [--trace]\n"
    "                   [--seed N] [--snapshot F] [--page-in F] [--page-out F [--page-key K]]\n"
    "Runs a native program (assembled first if FILE ends in .s) and prints its\n"
    "status, meters and final stack.\n"
    "  --gas N       gas limit (default 1000000)\n"
    "  --mem N       memory limit in words: stack + heap + call frames (default 65536)\n"
    "  --memtime N   memory-time limit in word-gas (default unlimited)\n"
    "  --stack N     stack depth limit (default 1024)\n"
    "  --calls N     call depth limit (default 256)\n"
    "  --depth N     nesting limit: processes on the running chain, this one included\n"
    "                (default 64, at most 1024); RECURSE beyond it stops with NEST_LIMIT\n"
    "  --push V      push V on the initial stack (repeatable, bottom first)\n"
    "  --arg V       append V to the argument words that ARG reads (repeatable)\n"
    "  --seed N      the machine's seed: every RAND stream derives from it (default 0)\n"
    "  --trace       print pc, instruction, gas left and top of stack at every step\n"
    "  --snapshot F  if it stops for a resource or a limit or yields, save the process\n"
    "                tree to F (continue it with frugal resume F, --refuel GAS for more gas)\n"
    "  --page-in F   before it runs, give the program a page holding F's bytes (8 a word,\n"
    "                little-endian, the last word padded with zeros) as its key 0\n"
    "  --page-out F  when it stops, write the words of the page its key K names to F\n"
    "                (8 bytes a word): a process image SAVECHILD left there can be\n"
    "                revived by LOADCHILD in another run given --page-in F\n"
    "  --page-key K  the key slot --page-out reads (default 0)\n"
    "Exit status: 0 if the program halted or yielded, 1 if it stopped for any\n"
    "other reason, 2 for bad arguments, 3 for a bad program file.\n";

int exp_cmd_exec(int argc, char **argv) {
    static const struct option opts[] = {
        {"gas", required_argument, 0, 'g'},      {"mem", required_argument, 0, 'm'},
        {"memtime", required_argument, 0, 't'},  {"stack", required_argument, 0, 's'},
        {"calls", required_argument, 0, 'c'},    {"push", required_argument, 0, 'p'},
        {"trace", no_argument, 0, 'T'},          {"help", no_argument, 0, 'h'},
        {"snapshot", required_argument, 0, 'S'}, {"depth", required_argument, 0, 'd'},
        {"arg", required_argument, 0, 'A'},      {"seed", required_argument, 0, 'R'},
        {"page-in", required_argument, 0, 'I'},  {"page-out", required_argument, 0, 'O'},
        {"page-key", required_argument, 0, 'K'}, {0, 0, 0, 0}};
    uint64_t seed = 0, page_key = 0;
    const char *page_in = NULL, *page_out = NULL;
    vm_limits lim = {0};
    bool trace = false;
    const char *snap = NULL;
    vm_word pushes[256], args[VM_MAX_ARGS];
    int npush = 0, nargs = 0;
    int c, rc = EXP_EXIT_OK;
    uint64_t v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'g':
            if (exp_parse_u64("--gas", optarg, &lim.gas)) return EXP_EXIT_USAGE;
            break;
        case 'm':
            if (exp_parse_u64("--mem", optarg, &v)) return EXP_EXIT_USAGE;
            lim.mem = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
            break;
        case 't':
            if (exp_parse_u64("--memtime", optarg, &lim.memtime)) return EXP_EXIT_USAGE;
            break;
        case 's':
            if (exp_parse_u64("--stack", optarg, &v)) return EXP_EXIT_USAGE;
            lim.stack = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
            break;
        case 'c':
            if (exp_parse_u64("--calls", optarg, &v)) return EXP_EXIT_USAGE;
            lim.calls = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
            break;
        case 'd':
            if (parse_depth("exec", optarg, &lim.nest)) return EXP_EXIT_USAGE;
            break;
        case 'p':
        case 'A': {
            char *end;
            errno = 0;
            long long w = strtoll(optarg, &end, 0);
            int *n = c == 'p' ? &npush : &nargs;
            if (errno || *end || *n == 256) {
                fprintf(stderr, "frugal exec: --%s expects an int64 (at most 256), got '%s'\n",
                        c == 'p' ? "push" : "arg", optarg);
                return EXP_EXIT_USAGE;
            }
            (c == 'p' ? pushes : args)[(*n)++] = w;
            break;
        }
        case 'R':
            if (exp_parse_u64("--seed", optarg, &seed)) return EXP_EXIT_USAGE;
            break;
        case 'K':
            if (exp_parse_u64("--page-key", optarg, &page_key)) return EXP_EXIT_USAGE;
            break;
        case 'I': page_in = optarg; break;
        case 'O': page_out = optarg; break;
        case 'T': trace = true; break;
        case 'S': snap = optarg; break;
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
    vm_machine *a = NULL;
    rc = exp_load_program(path, &code);
    if (rc) goto cleanup;
    a = vm_machine_new();
    if (a) vm_set_seed(a, seed);
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
    if (vm_set_args(a, args, (uint32_t)nargs)) {
        fprintf(stderr, "frugal exec: out of memory\n");
        rc = EXP_EXIT_IO;
        goto cleanup;
    }
    if (page_in && (rc = page_from_file(a, page_in))) goto cleanup;
    if (trace) vm_set_trace(a, trace_step, &code);
    vm_status s = vm_run(a);
    exp_print_run(a, stdout);
    if (page_out && (rc = page_to_file(a, page_out, page_key))) goto cleanup;
    if (snap && exp_save_snapshot(a, snap)) {
        rc = EXP_EXIT_IO;
        goto cleanup;
    }
    rc = (s == VM_HALTED || s == VM_YIELDED) ? EXP_EXIT_OK : EXP_EXIT_FAIL;
cleanup:
    vm_machine_free(a);
    vm_buf_free(&code);
    return rc;
}

static const char resume_usage[] =
    "usage: frugal resume FILE.snap [--refuel GAS] [--mem N] [--memtime N] [--depth N]\n"
    "                               [--snapshot F]\n"
    "Restores a process tree saved by frugal exec --snapshot and continues it,\n"
    "exactly as one run with the raised limits would have. Each budget is added\n"
    "to the root's limit, so what was left is kept (a yielded program continues\n"
    "with the gas it had):\n"
    "  --refuel GAS  GAS more gas\n"
    "  --mem N       N more words of memory\n"
    "  --memtime N   N more memory-time (word-gas)\n"
    "  --depth N     set the nesting limit to N (1 to 1024)\n"
    "  --snapshot F  if it stops again for a resource or a limit or yields, save it to F\n"
    "Exit status as for frugal exec; 3 for a corrupt or foreign snapshot.\n";

/* limit + more, saturating at max */
static uint64_t raised(uint64_t limit, uint64_t more, uint64_t max) {
    return limit > max || more > max - limit ? max : limit + more;
}

int exp_cmd_resume_snapshot(int argc, char **argv) {
    static const struct option opts[] = {{"refuel", required_argument, 0, 'g'},
                                         {"mem", required_argument, 0, 'm'},
                                         {"memtime", required_argument, 0, 't'},
                                         {"snapshot", required_argument, 0, 'S'},
                                         {"depth", required_argument, 0, 'd'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    uint64_t refuel = 0, mem = 0, memtime = 0;
    uint32_t depth = 0;
    const char *snap = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'g':
            if (exp_parse_u64("--refuel", optarg, &refuel)) return EXP_EXIT_USAGE;
            break;
        case 'm':
            if (exp_parse_u64("--mem", optarg, &mem)) return EXP_EXIT_USAGE;
            break;
        case 't':
            if (exp_parse_u64("--memtime", optarg, &memtime)) return EXP_EXIT_USAGE;
            break;
        case 'd':
            if (parse_depth("resume", optarg, &depth)) return EXP_EXIT_USAGE;
            break;
        case 'S': snap = optarg; break;
        case 'h': fputs(resume_usage, stdout); return EXP_EXIT_OK;
        default: fputs(resume_usage, stderr); return EXP_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fputs(resume_usage, stderr);
        return EXP_EXIT_USAGE;
    }
    vm_machine *a = vm_machine_new();
    int rc = a ? exp_load_snapshot(a, argv[optind]) : EXP_EXIT_IO;
    if (rc) goto cleanup;
    /* Raise the root's limits: what it had left stays (docs/cli.md). */
    vm_limits l;
    vm_get_limits(a, &l);
    l.gas = raised(l.gas, refuel, VM_MAX_GAS);
    l.mem = (uint32_t)raised(l.mem, mem, VM_MAX_MEM);
    l.memtime = raised(l.memtime, memtime, VM_MAX_MEMTIME);
    if (depth) l.nest = depth;
    if (vm_set_limits(a, &l)) {
        rc = EXP_EXIT_IO;
        goto cleanup;
    }
    vm_status s = vm_run(a);
    exp_print_run(a, stdout);
    if (snap && exp_save_snapshot(a, snap)) {
        rc = EXP_EXIT_IO;
        goto cleanup;
    }
    rc = (s == VM_HALTED || s == VM_YIELDED) ? EXP_EXIT_OK : EXP_EXIT_FAIL;
cleanup:
    vm_machine_free(a);
    return rc;
}
