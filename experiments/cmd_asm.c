/* `frugal asm` and `frugal disasm`: text <-> bytecode (syntax: docs/asm.md). */
#include "analysis/analysis.h"
#include "experiments/cli.h"
#include "vm/vm.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char asm_usage[] =
    "usage: frugal asm FILE.s [-o FILE.bin]\n"
    "Assemble FILE.s (syntax: docs/asm.md) into VM bytecode.\n"
    "\n"
    "  -o, --output FILE  write the code to FILE (default: FILE.s with .s replaced\n"
    "                     by .bin, or .bin appended); '-' is standard output\n"
    "  -h, --help         show this help\n"
    "\n"
    "FILE.s may be '-' for standard input (then -o is required). Errors are\n"
    "printed as file:line:col: error: ... and no output is written.\n";

static const char disasm_usage[] =
    "usage: frugal disasm FILE.bin|RUN.h5[:ID] [--fixed] [--expr[=STYLE]] [--inputs N]\n"
    "                     [--outputs N] [--underflow skip|fault]\n"
    "Print VM bytecode as assembly text that `frugal asm` turns back into the same\n"
    "bytes, whatever they are. FILE.bin may be '-' for standard input. RUN.h5:ID is\n"
    "an individual of a run file, ID = GEN:ISLAND:SLOT, GEN:SLOT, GEN:best (that\n"
    "generation's best, kept for every generation) or best (the default): its task\n"
    "says the inputs, outputs, fixed point and limits.\n"
    "\n"
    "  --fixed          the words are Q32.32: each PUSH's comment ends with its value\n"
    "                   (\"= 0.5\"), and --expr reads the program as real arithmetic\n"
    "  --expr[=STYLE]   print the program as an expression instead (one line):\n"
    "                   STYLE infix (the default), sympy or latex; a program with no\n"
    "                   expression prints \"(no expression: WHY)\" (docs/report.md)\n"
    "  --inputs N       FILE.bin: the inputs, on the initial stack and as ARG 0..N-1\n"
    "                   (default 1)\n"
    "  --outputs N      FILE.bin: the outputs, the top N words (default 1)\n"
    "  --underflow R    FILE.bin: the operand-shortage rule, fault (the VM's default)\n"
    "                   or skip (GP tasks'); the other limits are the VM's defaults\n"
    "  -h, --help       show this help\n";

/* Read all of path ('-': stdin) into *data. Returns 0, or an exit code after
 * printing why. */
static int read_all(const char *cmd, const char *path, size_t limit, char **data, size_t *len) {
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "frugal %s: cannot open '%s': %s\n", cmd, path, strerror(errno));
        return EXP_EXIT_IO;
    }
    base_buf b = {0};
    int rc = 0;
    switch (base_read_all(f, &b, limit)) {
    case 0: break;
    case BASE_READ_LIMIT:
        fprintf(stderr, "frugal %s: '%s' is larger than %zu bytes, expected at most that\n", cmd,
                path, limit);
        rc = EXP_EXIT_INPUT;
        break;
    case BASE_READ_ERROR:
        fprintf(stderr, "frugal %s: cannot read '%s': %s\n", cmd, path, strerror(errno));
        rc = EXP_EXIT_IO;
        break;
    default:
        fprintf(stderr, "frugal %s: '%s': out of memory\n", cmd, path);
        rc = EXP_EXIT_IO;
        break;
    }
    if (!is_stdin) fclose(f);
    if (rc) {
        base_buf_free(&b);
        return rc;
    }
    *data = (char *)b.data;
    *len = b.len;
    return 0;
}

/* FILE.s -> FILE.bin; anything else gets .bin appended. */
static char *default_output(const char *in) {
    size_t n = strlen(in);
    if (n > 2 && strcmp(in + n - 2, ".s") == 0 && in[n - 3] != '/') n -= 2;
    char *out = malloc(n + 5);
    if (!out) return NULL;
    memcpy(out, in, n);
    memcpy(out + n, ".bin", 5);
    return out;
}

/* getopt_long's complaint (opterr is 0), in our words. shorts is the
 * getopt option string. */
static int bad_option(const char *cmd, char **argv, const char *shorts, const char *usage) {
    const char *arg = argv[optind - 1];
    if (optopt && strncmp(arg, "--", 2) != 0)
        fprintf(stderr, "frugal %s: option '-%c' %s\n\n%s", cmd, optopt,
                optopt != ':' && strchr(shorts, optopt) ? "needs an argument" : "is unknown",
                usage);
    else
        fprintf(stderr, "frugal %s: option '%s' is unknown or misused\n\n%s", cmd, arg, usage);
    return EXP_EXIT_USAGE;
}

static int write_all(const char *path, const uint8_t *data, size_t len) {
    bool is_stdout = strcmp(path, "-") == 0;
    FILE *f = is_stdout ? stdout : fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "frugal asm: cannot create '%s': %s\n", path, strerror(errno));
        return EXP_EXIT_IO;
    }
    bool ok = fwrite(data, 1, len, f) == len;
    ok = (is_stdout ? fflush(f) : fclose(f)) == 0 && ok;
    if (!ok) {
        fprintf(stderr, "frugal asm: cannot write '%s': %s\n", path, strerror(errno));
        if (!is_stdout) remove(path);
        return EXP_EXIT_IO;
    }
    return EXP_EXIT_OK;
}

int exp_cmd_asm(int argc, char **argv) {
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *output = NULL;
    int c;
    optind = 0; /* rescan from argv[1] (glibc: full reinitialisation) */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case 'h': fputs(asm_usage, stdout); return EXP_EXIT_OK;
        default: return bad_option("asm", argv, "o:h", asm_usage);
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "frugal asm: %s, expected one input file\n\n%s",
                argc - optind ? "too many arguments" : "no input file", asm_usage);
        return EXP_EXIT_USAGE;
    }
    const char *input = argv[optind];
    if (!output && strcmp(input, "-") == 0) {
        fprintf(stderr, "frugal asm: reading standard input, expected -o FILE\n");
        return EXP_EXIT_USAGE;
    }

    char *src = NULL;
    size_t len = 0;
    int rc = read_all("asm", input, SIZE_MAX / 2, &src, &len);
    if (rc) return rc;
    vm_buf code = {0};
    int nerr = exp_asm(src, len, strcmp(input, "-") == 0 ? "<stdin>" : input, &code);
    free(src);
    if (nerr) {
        fprintf(stderr, "frugal asm: %d error%s in '%s', nothing written\n", nerr,
                nerr == 1 ? "" : "s", input);
        vm_buf_free(&code);
        return EXP_EXIT_INPUT;
    }
    char *def = output ? NULL : default_output(input);
    if (!output && !def) {
        fprintf(stderr, "frugal asm: out of memory\n");
        vm_buf_free(&code);
        return EXP_EXIT_IO;
    }
    rc = write_all(output ? output : def, code.data, code.len);
    free(def);
    vm_buf_free(&code);
    return rc;
}

/* RUN.h5[:ID]: the path's length when arg names a run file (and *id the
 * individual), else 0. */
static size_t run_ref(const char *arg, const char **id) {
    const char *h = strstr(arg, ".h5");
    while (h && h[3] && h[3] != ':')
        h = strstr(h + 1, ".h5");
    if (!h) return 0;
    *id = h[3] == ':' ? h + 4 : "best";
    return (size_t)(h + 3 - arg);
}

/* Disassemble, or print the expression of, an individual of a run file. */
static int disasm_run(const char *arg, size_t plen, const char *id, bool fixed, bool expr,
                      an_expr_style style) {
    char path[4096], err[512];
    an_run r;
    an_program p;
    snprintf(path, sizeof path, "%.*s", (int)plen, arg);
    int rc;
    if (an_run_load(path, &r, &rc, err, sizeof err)) {
        fprintf(stderr, "frugal disasm: %s\n", err);
        return rc == AN_ERR_IO ? EXP_EXIT_IO : EXP_EXIT_INPUT;
    }
    if (an_program_get(&r, id, &p)) {
        char kept[256];
        an_held_text(&r, kept, sizeof kept);
        fprintf(stderr,
                "frugal disasm: %s: no individual '%s', expected GEN:ISLAND:SLOT, GEN:SLOT, "
                "GEN:best or best (%" PRIu64 " generations, %" PRIu32 " islands of %" PRIu32
                "; %s)\n",
                path, id, r.generations, r.islands, r.pop_size, kept);
        an_run_free(&r);
        return EXP_EXIT_USAGE;
    }
    if (fixed && r.expressible) r.expr.fixed = true;
    rc = EXP_EXIT_OK;
    if (expr) {
        char *t = an_run_expr(&r, p.code, p.len, style);
        if (t) printf("%s\n", t);
        rc = t ? EXP_EXIT_OK : EXP_EXIT_FAIL;
        free(t);
    } else {
        an_print_program(&r, p.code, p.len, stdout, "");
    }
    an_run_free(&r);
    return rc;
}

int exp_cmd_disasm(int argc, char **argv) {
    static const struct option opts[] = {
        {"fixed", no_argument, NULL, 'F'},
        {"expr", optional_argument, NULL, 'E'},
        {"inputs", required_argument, NULL, 'I'},
        {"outputs", required_argument, NULL, 'O'},
        {"underflow", required_argument, NULL, 'U'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool fixed = false, expr = false;
    an_expr_style style = AN_EXPR_INFIX;
    an_expr_opts eo = {.n_in = 1, .n_out = 1};
    uint64_t v;
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'F': fixed = true; break;
        case 'E':
            expr = true;
            if (optarg && an_expr_style_parse(optarg, &style)) {
                fprintf(stderr, "frugal disasm: --expr=%s, expected infix, sympy or latex\n",
                        optarg);
                return EXP_EXIT_USAGE;
            }
            break;
        case 'I':
        case 'O':
            if (exp_parse_u64(c == 'I' ? "--inputs" : "--outputs", optarg, &v))
                return EXP_EXIT_USAGE;
            if (v > (c == 'I' ? VM_MAX_ARGS : AN_EXPR_MAX_OUT) || (c == 'O' && v == 0)) {
                fprintf(stderr, "frugal disasm: %s %s, expected %s to %u\n",
                        c == 'I' ? "--inputs" : "--outputs", optarg, c == 'I' ? "0" : "1",
                        c == 'I' ? VM_MAX_ARGS : AN_EXPR_MAX_OUT);
                return EXP_EXIT_USAGE;
            }
            *(c == 'I' ? &eo.n_in : &eo.n_out) = (uint32_t)v;
            break;
        case 'U':
            if (strcmp(optarg, "skip") && strcmp(optarg, "fault")) {
                fprintf(stderr, "frugal disasm: --underflow %s, expected skip or fault\n", optarg);
                return EXP_EXIT_USAGE;
            }
            eo.limits.underflow = optarg[0] == 's' ? VM_UNDERFLOW_SKIP : VM_UNDERFLOW_FAULT;
            break;
        case 'h': fputs(disasm_usage, stdout); return EXP_EXIT_OK;
        default: return bad_option("disasm", argv, "h", disasm_usage);
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "frugal disasm: %s, expected one input file\n\n%s",
                argc - optind ? "too many arguments" : "no input file", disasm_usage);
        return EXP_EXIT_USAGE;
    }
    const char *id = NULL;
    size_t plen = run_ref(argv[optind], &id);
    char *code = NULL;
    size_t len = 0;
    int rc = plen ? disasm_run(argv[optind], plen, id, fixed, expr, style)
                  : read_all("disasm", argv[optind], VM_MAX_CODE, &code, &len);
    if (plen || rc) return rc;
    eo.fixed = fixed;
    if (expr) {
        char *t = an_expr_string((const uint8_t *)code, len, &eo, style);
        if (t) printf("%s\n", t);
        rc = t ? EXP_EXIT_OK : EXP_EXIT_FAIL;
        free(t);
    } else {
        an_disasm((const uint8_t *)code, len, fixed, stdout, "");
    }
    free(code);
    if (rc) return rc;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "frugal disasm: cannot write standard output: %s\n", strerror(errno));
        return EXP_EXIT_IO;
    }
    return EXP_EXIT_OK;
}
