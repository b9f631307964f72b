/* frugal inspect: a snapshot's process tree as text, Graphviz DOT or a
 * memory image; and frugal resume, which continues a snapshot or a run. */
#include "experiments/cli.h"
#include "vm/evm/evm.h"
#include "vm/vm.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *kind_name(vm_key_kind k) {
    switch (k) {
    case VM_KEY_PROC: return "process";
    case VM_KEY_PAGE: return "page";
    case VM_KEY_CHAN: return "channel";
    case VM_KEY_CALL: return "call";
    default: return "empty";
    }
}

static void rights_text(unsigned r, char *out) {
    out[0] = (r & VM_RIGHT_READ) ? 'r' : '-';
    out[1] = (r & VM_RIGHT_WRITE) ? 'w' : '-';
    out[2] = (r & VM_RIGHT_CALL) ? 'c' : '-';
    out[3] = 0;
}

static void print_tree(const vm_machine *a, uint32_t id, int indent, FILE *f) {
    vm_proc_info pi;
    if (vm_proc_get(a, id, &pi) || !pi.live || indent > 2 * (int)VM_MAX_NEST) return;
    fprintf(f,
            "%*sprocess %" PRIu32 "%s  %s  ip %" PRIu32 "  gas %" PRIu64 "/%" PRIu64
            "  memtime %" PRIu64 "  words %" PRIu64 "/%" PRIu32 "  stack %" PRIu32 "  heap %" PRIu32
            "  code %" PRIu32 " bytes\n",
            indent, "", id, id == 0 ? " (root)" : "", vm_status_name(pi.status), pi.ip, pi.m.gas,
            pi.lim.gas, pi.m.memtime, pi.words, pi.lim.mem, pi.depth, pi.msize, pi.code_len);
    vm_proc_info ci;
    if (pi.child != UINT32_MAX && !vm_proc_get(a, pi.child, &ci))
        fprintf(f, "%*s  (suspended inside %s of process %" PRIu32 ")\n", indent, "",
                ci.parent == id ? "RECURSE" : "KCALL", pi.child);
    if (pi.evm && pi.evm_status >= 0)
        fprintf(f, "%*s  EVM process: ended %s\n", indent, "",
                evm_status_name((evm_status)pi.evm_status));
    else if (pi.evm)
        fprintf(f, "%*s  EVM process: %d live frame%s\n", indent, "", pi.evm_frames,
                pi.evm_frames == 1 ? "" : "s");
    for (int d = 1; d < pi.evm_frames; d++) {
        int64_t w = vm_evm_world(a, id, d);
        if (w >= 0 && w != id)
            fprintf(f, "%*s  EVM frame %d runs in the world of process %" PRId64 "\n", indent, "",
                    d, w);
    }
    if (pi.evm && vm_evm_holder(a, id) >= 0)
        fprintf(f, "%*s  its world is held by the transaction of process %" PRId64 "\n", indent, "",
                vm_evm_holder(a, id));
    for (uint32_t k = 0; k < pi.nkeys; k++) {
        vm_key_kind kind;
        unsigned rights;
        uint32_t obj;
        char r[4];
        vm_key_get(a, id, k, &kind, &rights, &obj);
        rights_text(rights, r);
        if (kind == VM_KEY_NONE)
            fprintf(f, "%*s  key %" PRIu32 ": empty\n", indent, "", k);
        else
            fprintf(f, "%*s  key %" PRIu32 ": %s %" PRIu32 " %s\n", indent, "", k, kind_name(kind),
                    obj, r);
    }
    for (uint32_t k = 0; k < pi.nkeys; k++) {
        vm_key_kind kind;
        unsigned rights;
        uint32_t obj;
        vm_key_get(a, id, k, &kind, &rights, &obj);
        if (kind == VM_KEY_PROC) print_tree(a, obj, indent + 4, f);
    }
}

/* The capability graph: processes own children (bold) and hold keys (labelled
 * with rights) to processes (call keys dashed), pages and channels; a process
 * suspended inside a KCALL points at its callee (dotted). */
static void print_dot(const vm_machine *a, FILE *f) {
    fprintf(f, "digraph frugal {\n  rankdir=TB;\n  node [fontname=\"monospace\"];\n");
    for (uint32_t id = 0; id < vm_nprocs(a); id++) {
        vm_proc_info pi;
        if (vm_proc_get(a, id, &pi) || !pi.live) continue;
        fprintf(f,
                "  p%" PRIu32 " [shape=box,label=\"process %" PRIu32 "\\n%s\\ngas %" PRIu64
                "/%" PRIu64 "\\nwords %" PRIu64 "\"];\n",
                id, id, vm_status_name(pi.status), pi.m.gas, pi.lim.gas, pi.words);
        vm_proc_info ci;
        if (pi.child != UINT32_MAX && !vm_proc_get(a, pi.child, &ci) && ci.parent != id)
            fprintf(f, "  p%" PRIu32 " -> p%" PRIu32 " [style=dotted,label=\"in KCALL\"];\n", id,
                    pi.child);
        for (uint32_t k = 0; k < pi.nkeys; k++) {
            vm_key_kind kind;
            unsigned rights;
            uint32_t obj;
            char r[4];
            vm_key_get(a, id, k, &kind, &rights, &obj);
            rights_text(rights, r);
            if (kind == VM_KEY_PROC)
                fprintf(f,
                        "  p%" PRIu32 " -> p%" PRIu32 " [style=bold,label=\"key %" PRIu32
                        " %s\"];\n",
                        id, obj, k, r);
            else if (kind == VM_KEY_PAGE)
                fprintf(f,
                        "  g%" PRIu32 " [shape=note,label=\"page %" PRIu32 "\"];\n"
                        "  p%" PRIu32 " -> g%" PRIu32 " [label=\"key %" PRIu32 " %s\"];\n",
                        obj, obj, id, obj, k, r);
            else if (kind == VM_KEY_CHAN)
                fprintf(f,
                        "  c%" PRIu32 " [shape=cds,label=\"channel %" PRIu32 "\"];\n"
                        "  p%" PRIu32 " -> c%" PRIu32 " [label=\"key %" PRIu32 " %s\"];\n",
                        obj, obj, id, obj, k, r);
            else if (kind == VM_KEY_CALL) /* a call key: names, does not own */
                fprintf(f,
                        "  p%" PRIu32 " -> p%" PRIu32 " [style=dashed,label=\"key %" PRIu32
                        " %s\"];\n",
                        id, obj, k, r);
        }
    }
    fprintf(f, "}\n");
}

/* The image being drawn: every region a process holds (vm_proc_regions),
 * each from the start of a row, one byte per pixel. */
#define IMG_W 256
typedef struct {
    uint8_t *px;
    size_t len, cap; /* bytes drawn so far, row-aligned between regions */
    size_t bytes;    /* bytes of memory */
    vm_region_kind kind;
    uint32_t obj;
    bool any, oom;
    FILE *legend; /* one line per region */
} img_ctx;

static const char *region_name(vm_region_kind k) {
    switch (k) {
    case VM_REGION_STACK: return "stack";
    case VM_REGION_HEAP: return "heap";
    case VM_REGION_CALLS: return "return addresses";
    case VM_REGION_PAGE: return "page";
    case VM_REGION_CHAN: return "channel";
    case VM_REGION_EVM_STACK: return "EVM stack of frame";
    case VM_REGION_EVM_MEMORY: return "EVM memory of frame";
    }
    return "?";
}

static void add_region(void *ctx, const vm_region *r) {
    img_ctx *c = ctx;
    size_t n = r->words ? 8 * r->n : r->n;
    bool fresh = !c->any || r->kind != c->kind || r->obj != c->obj; /* else: its next piece */
    if (fresh) {
        c->len = (c->len + IMG_W - 1) / IMG_W * IMG_W;
        bool numbered = r->kind >= VM_REGION_PAGE;
        if (c->legend) {
            fprintf(c->legend, "  row %zu: %s", c->len / IMG_W, region_name(r->kind));
            if (numbered) fprintf(c->legend, " %" PRIu32, r->obj);
            fputc('\n', c->legend);
        }
    }
    c->any = true;
    c->kind = r->kind;
    c->obj = r->obj;
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n)
            cap *= 2;
        uint8_t *q = realloc(c->px, cap);
        if (!q) {
            c->oom = true;
            return;
        }
        memset(q + c->cap, 0, cap - c->cap);
        c->px = q;
        c->cap = cap;
    }
    if (r->words)
        for (size_t i = 0; i < r->n; i++)
            for (int b = 0; b < 8; b++)
                c->px[c->len++] = (uint8_t)((uint64_t)r->words[i] >> (8 * b));
    else
        for (size_t i = 0; i < n; i++)
            c->px[c->len++] = r->bytes[i];
    c->bytes += n;
}

/* Everything a process holds (stack, heap, return addresses, pages,
 * channels, EVM frames), one byte per pixel, 256 wide, each region from the
 * start of a row (words little-endian). */
static int write_image(const vm_machine *a, uint32_t id, const char *path) {
    char *legend = NULL;
    size_t llen = 0;
    img_ctx c = {.legend = open_memstream(&legend, &llen)};
    if (!c.legend || vm_proc_regions(a, id, add_region, &c)) {
        if (c.legend) fclose(c.legend);
        free(legend);
        free(c.px);
        if (!c.legend) return EXP_EXIT_IO;
        fprintf(stderr, "frugal inspect: no live process %" PRIu32 "\n", id);
        return EXP_EXIT_USAGE;
    }
    fclose(c.legend);
    if (c.oom) {
        free(legend);
        free(c.px);
        fprintf(stderr, "frugal inspect: out of memory\n");
        return EXP_EXIT_IO;
    }
    size_t w = IMG_W, h = c.len ? (c.len + w - 1) / w : 1;
    uint8_t *img = calloc(w * h, 1);
    if (!img) {
        free(legend);
        free(c.px);
        return EXP_EXIT_IO;
    }
    if (c.len) memcpy(img, c.px, c.len);
    free(c.px);
    size_t bytes = c.bytes;
    int rc = EXP_EXIT_IO;
    FILE *f = fopen(path, "wb");
    png_structp png = NULL;
    png_infop info = NULL;
    if (!f) {
        fprintf(stderr, "frugal inspect: cannot write %s: %s\n", path, strerror(errno));
        goto cleanup;
    }
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    info = png ? png_create_info_struct(png) : NULL;
    if (!info) goto cleanup;
    if (setjmp(png_jmpbuf(png))) goto cleanup; /* libpng's own error path, no OpenMP here */
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (size_t y = 0; y < h; y++)
        png_write_row(png, img + y * w);
    png_write_end(png, NULL);
    rc = EXP_EXIT_OK;
    fprintf(stderr, "frugal inspect: %zu bytes of memory drawn to %s (%zux%zu)\n%s", bytes, path, w,
            h, legend ? legend : "");
cleanup:
    free(legend);
    if (png) png_destroy_write_struct(&png, info ? &info : NULL);
    if (f && fclose(f) != 0) rc = EXP_EXIT_IO;
    free(img);
    return rc;
}

static const char inspect_usage[] =
    "usage: frugal inspect FILE.snap [--dot] [--image OUT.png [--proc ID]]\n"
    "Prints a snapshot's process tree: status, meters and keys of every process.\n"
    "  --dot          print the capability graph as Graphviz DOT instead\n"
    "  --image F.png  draw everything a process holds (stack, heap, return addresses,\n"
    "                pages, channels, EVM frames' stacks and memory), one byte per\n"
    "                pixel, 256 pixels wide, each region from a new row\n"
    "  --proc ID      the process to draw (default 0, the root)\n";

int exp_cmd_inspect(int argc, char **argv) {
    static const struct option opts[] = {{"dot", no_argument, 0, 'd'},
                                         {"image", required_argument, 0, 'i'},
                                         {"proc", required_argument, 0, 'p'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    bool dot = false;
    const char *image = NULL;
    uint64_t proc = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dot = true; break;
        case 'i': image = optarg; break;
        case 'p':
            if (exp_parse_u64("--proc", optarg, &proc) || proc > UINT32_MAX) return EXP_EXIT_USAGE;
            break;
        case 'h': fputs(inspect_usage, stdout); return EXP_EXIT_OK;
        default: fputs(inspect_usage, stderr); return EXP_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fputs(inspect_usage, stderr);
        return EXP_EXIT_USAGE;
    }
    vm_machine *a = vm_machine_new();
    int rc = a ? exp_load_snapshot(a, argv[optind]) : EXP_EXIT_IO;
    if (rc) goto cleanup;
    if (dot)
        print_dot(a, stdout);
    else
        print_tree(a, 0, 0, stdout);
    if (image) rc = write_image(a, (uint32_t)proc, image);
cleanup:
    vm_machine_free(a);
    return rc;
}

/* frugal resume: a snapshot (FRUGSNAP) or, once the store lands, a run. */
/* The options of both kinds of resume that take a value as the next argument. */
static bool takes_value(const char *opt) {
    static const char *const v[] = {"--refuel",   "--mem",     "--memtime",
                                    "--snapshot", "--threads", "--depth"};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        if (!strcmp(opt, v[i])) return true;
    return false;
}

/* The file is the first argument that is neither an option nor an option's
 * value; its magic picks the kind of resume. */
static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

int exp_cmd_resume(int argc, char **argv) {
    const char *path = NULL;
    bool help = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            help = true;
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else if (argv[i][0] == '-' && takes_value(argv[i]))
            i++;
    }
    static const char usage[] =
        "usage: frugal resume FILE.h5|FILE.snap [OPTIONS]\n"
        "Continues a run (HDF5, see frugal resume FILE.h5 --help) or a saved process\n"
        "tree (snapshot, see frugal resume FILE.snap --help).\n";
    if (!path) {
        if (help) {
            fputs(usage, stdout);
            return EXP_EXIT_OK;
        }
        fprintf(stderr, "frugal resume: which file? (frugal resume --help)\n");
        return EXP_EXIT_USAGE;
    }
    FILE *f = fopen(path, "rb");
    if (!f && help) { /* help needs no file: the name tells which */
        if (ends_with(path, ".snap")) return exp_cmd_resume_snapshot(argc, argv);
        if (ends_with(path, ".h5")) return exp_cmd_resume_run(argc, argv);
        fputs(usage, stdout);
        return EXP_EXIT_OK;
    }
    if (!f) {
        fprintf(stderr, "frugal resume: cannot open %s: %s\n", path, strerror(errno));
        return EXP_EXIT_IO;
    }
    char magic[8] = {0};
    size_t n = fread(magic, 1, 8, f);
    fclose(f);
    if (n == 8 && !memcmp(magic, "FRUGSNAP", 8)) return exp_cmd_resume_snapshot(argc, argv);
    if (n == 8 && !memcmp(magic, "\x89HDF\r\n\x1a\n", 8)) return exp_cmd_resume_run(argc, argv);
    if (help) {
        fputs(usage, stdout);
        return EXP_EXIT_OK;
    }
    fprintf(stderr, "frugal resume: %s is neither a frugal snapshot nor an HDF5 run\n", path);
    return EXP_EXIT_INPUT;
}
