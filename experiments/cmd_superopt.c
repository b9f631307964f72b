/* `frugal superopt FILE`: EVM gas superoptimisation of every block of a
 * JSON-lines file (../shared/benchmarks/evm-superopt/blocks.jsonl format) or
 * of a text file with one block per line. Each block goes through the same
 * pipeline with the same seed: the symbolic search (fit_evm_codegen), then
 * GP seeded with the block and that result, with a fixed budget and early
 * stops. Every program reported cheaper passed the equivalence test of the
 * stack model (fit_evm_equivalent); those also proved by normalisation
 * (fit_evm_prove) are counted apart. One CSV row per block, then a summary,
 * per source too, as text and optionally JSON (docs/tasks.md,
 * "evm-superopt"). */
#include "evolve/evolve.h"
#include "experiments/cli.h"
#include "experiments/spec.h"
#include "vm/evm/evm.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int exp_cmd_superopt(int argc, char **argv);

static const char superopt_usage[] =
    "usage: frugal superopt FILE [--budget EVALS] [--pop N] [--stall G] [--expand N]\n"
    "                       [--window W] [--strict-depth] [--no-codegen] [--no-gp] [--seed S]\n"
    "                       [--threads N] [--equiv N] [--train N] [--limit N] [--id ID]\n"
    "                       [--text] [--out FILE.csv] [--json FILE] [--quiet]\n\n"
    "Find a cheaper equivalent (Cancun static gas) of every straight-line EVM block in\n"
    "FILE: JSON lines with \"input\" (hex) or \"input_text\" (text), and optionally \"id\",\n"
    "\"source\" and \"cancun_static_gas\": [original, published]; or a text file with one\n"
    "block per line (hex or text; '#' starts a comment line). Text blocks are opcode\n"
    "names and PUSHn operands; symbolic pushes (PUSH [tag] 0x12, PUSH #[$] ..., PUSH [$]\n"
    "..., PUSHDEPLOYADDRESS, PUSHSIZE, PUSHLIB, PUSHIMMUTABLE, METAPUSH k v) are opaque\n"
    "constants and stay as written (docs/tasks.md).\n\n"
    "Each block: the symbolic search over the block's normalised final stack, then GP\n"
    "seeded with the block and that result, stopping at the budget, after --stall\n"
    "generations without a cheaper program, or at a proven lower bound. A program\n"
    "counts only if the stack model finds it equivalent on --equiv random initial stacks\n"
    "plus every combination of the edge values 0, 1, 2^255, 2^256-1. Writes one CSV row\n"
    "per block (to --out, or stdout), then a summary: matched, beaten and above the\n"
    "published gas, per source, and the median time per block.\n\n"
    "  --budget EVALS  GP program evaluations per block (default 20000)\n"
    "  --pop N         GP population (default 100)\n"
    "  --stall G       stop GP after G generations without a cheaper program (default 12;\n"
    "                  0: never)\n"
    "  --expand N      symbolic search: most stacks expanded (default 50000)\n"
    "  --window W      when the search of the whole block runs out, search windows of W\n"
    "                  instructions, a tenth of --expand each (default 10; 0: never)\n"
    "  --strict-depth  take no program that needs more stack words than the block\n"
    "  --no-codegen    skip the symbolic search\n"
    "  --no-gp         skip GP\n"
    "  --seed S        run seed (default 1), the same for every block; block i uses\n"
    "                  streams (S, TASK, i, 0) and (S, TASK, i, 1)\n"
    "  --threads N     OpenMP threads (0: default); never changes the results\n"
    "  --equiv N       random stacks for the equivalence test (default 10000)\n"
    "  --train N       GP training stacks (default 32)\n"
    "  --limit N       only the first N blocks\n"
    "  --id ID         only the block with this id\n"
    "  --text          read \"input_text\" even when \"input\" is there\n"
    "  --json FILE     write the summary as JSON too ('-': stdout)\n"
    "  --quiet         no per-block progress on stderr\n";

typedef struct {
    uint64_t budget, pop, seed, threads, equiv, train, limit, stall, expand, window;
    const char *id;
    bool quiet, text, codegen, gp, strict_depth;
} so_opts;

#define SO_CODE 8192

typedef struct {
    int64_t orig, published, found, lower; /* Cancun static gas; published -1 if unknown */
    bool equivalent, proved;               /* found < orig: tested / also proved */
    char how; /* 'b' block, 'c' symbolic search, 'w' its windows, 'g' GP */
    uint64_t evaluations, generations, rejected, expanded;
    double seconds, cpu;
    uint8_t code[SO_CODE];
    size_t len;
} so_result;

static const char *so_how(char how) {
    return how == 'c' ? "symbolic" : how == 'w' ? "windows" : how == 'g' ? "gp" : "block";
}

static double so_now(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int64_t so_range(void *ctx, int64_t lo, int64_t hi) {
    return evo_rng_range((evo_rng *)ctx, lo, hi);
}

static uint64_t so_hash(const uint8_t *c, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t j = 0; j < n; j++)
        h = (h ^ c[j]) * 1099511628211ull;
    return h;
}

/* The most words code has on the stack, counting the block's inputs. */
static uint32_t so_peak(const fit_task *t, const uint8_t *c, size_t len) {
    evm_word *st = calloc(FIT_EVM_MODEL_STACK, sizeof *st);
    uint32_t depth = t->n_in, peak = UINT32_MAX;
    uint64_t gas;
    fit_evm_env env = {t->n_opaque, t->probe, t->n_probe};
    if (st && fit_evm_model_run(&env, c, len, 0, st, &depth, &gas, &peak) != VM_HALTED)
        peak = UINT32_MAX;
    free(st);
    return peak;
}

/* A block's search state: the best so far and the programs found wrong. */
typedef struct {
    const fit_task *t;
    const so_opts *o;
    uint64_t index;
    so_result *res;
    uint64_t *rejected;
    size_t nrej, caprej;
} so_state;

/* Take code as the best if it is cheaper and equivalent: 1 taken, 0 not,
 * -1 out of memory. The equivalence test's stacks are the same for every
 * candidate of a block: stream (seed, TASK, index, 1). */
static int so_offer(so_state *s, const uint8_t *c, size_t len, char how) {
    int64_t g = fit_evm_static_gas(c, len);
    if (g < 0 || g >= s->res->found || len > SO_CODE) return 0;
    uint64_t h = so_hash(c, len);
    for (size_t j = 0; j < s->nrej; j++)
        if (s->rejected[j] == h) return 0;
    /* --strict-depth: no deeper than the block, so that where the block fits
     * under the EVM's 1024 words so does the program (straight-line code
     * reaches the same depth on every input) */
    if (s->o->strict_depth && so_peak(s->t, c, len) > so_peak(s->t, s->t->block, s->t->block_len))
        return 0;
    evo_rng er;
    evo_rng_stream(&er, s->o->seed, EVO_STREAM_TASK, s->index, 1);
    fit_rng erng = {&er, so_range};
    int eq = fit_evm_equivalent(s->t, c, len, &erng, NULL);
    if (eq < 0) return -1;
    if (eq == 1) {
        s->res->found = g;
        s->res->equivalent = true;
        s->res->how = how;
        s->res->len = len;
        memcpy(s->res->code, c, len);
        return 1;
    }
    if (s->nrej == s->caprej) {
        size_t nc = s->caprej ? 2 * s->caprej : 64;
        uint64_t *q = realloc(s->rejected, nc * sizeof *q);
        if (!q) return -1;
        s->rejected = q;
        s->caprej = nc;
    }
    s->rejected[s->nrej++] = h;
    return 0;
}

/* GP seeded with the block and the best so far. 0, or -1 with err. */
static int so_gp(so_state *s, char *err, size_t errcap) {
    const fit_task *t = s->t;
    const so_opts *o = s->o;
    so_result *res = s->res;
    evo_isa isa;
    evo_isa_for_task(&isa, t);
    evo_params p;
    evo_params_default(&p, &isa, t);
    p.seed = o->seed + s->index;
    p.pop_size = (uint32_t)o->pop;
    p.threads = (uint32_t)o->threads;
    p.max_generations = 0;
    p.max_evaluations = o->budget;
    p.tournament = 4;
    p.elites = 2;
    p.tiebreak = EVO_TIE_GAS; /* lexicographic: error, then gas, then length */
    p.target_error = -1;
    evo_run *run = evo_run_new(&p, t, err, errcap);
    if (!run) return -1;
    int rc = -1;
    uint64_t last = 0;
    for (;;) {
        int st = evo_run_step(run);
        if (st < 0) {
            snprintf(err, errcap, "out of memory");
            goto cleanup;
        }
        if (st == 1) break;
        uint64_t gen = evo_run_generation(run);
        if (gen == 0) { /* seed a tenth of each island with the block, a tenth with the best */
            uint32_t nseed = p.pop_size / 10 ? p.pop_size / 10 : 1;
            bool best = res->how != 'b' && res->len && 2 * nseed <= p.pop_size;
            for (uint32_t k = 0; k < p.islands; k++)
                for (uint32_t i = 0; i < nseed; i++) {
                    if (evo_run_seed(run, k, i, t->block, t->block_len)) {
                        snprintf(err, errcap, "the block is not a genome of the EVM ISA");
                        goto cleanup;
                    }
                    /* a best that is no genome (longer than the caps) is not seeded */
                    if (best && evo_run_seed(run, k, nseed + i, res->code, (uint32_t)res->len))
                        best = false;
                }
        }
        /* every island's zero-error programs cheaper than the best so far */
        for (uint32_t k = 0; k < p.islands; k++) {
            evo_pop_view v;
            evo_run_island(run, k, &v);
            for (uint32_t i = 0; i < v.n; i++) {
                if (v.error[i] != 0) continue;
                int r = so_offer(s, v.code + (size_t)i * v.stride, v.len[i], 'g');
                if (r < 0) {
                    snprintf(err, errcap, "out of memory");
                    goto cleanup;
                }
                if (r) last = gen;
            }
        }
        if (res->found <= res->lower) break; /* nothing cheaper exists */
        if (o->stall && gen - last >= o->stall) break;
    }
    res->evaluations = evo_run_evaluations(run);
    res->generations = evo_run_generation(run);
    rc = 0;
cleanup:
    evo_run_free(run);
    return rc;
}

/* Optimise one block. Returns 0, or -1 with a message in err. */
static int so_block(const char *src, uint64_t index, const so_opts *o, so_result *res, fit_task *t,
                    char *err, size_t errcap) {
    double t0 = so_now(CLOCK_MONOTONIC), c0 = so_now(CLOCK_PROCESS_CPUTIME_ID);
    int rc = -1;
    so_state s = {.t = t, .o = o, .index = index, .res = res};
    evo_rng tr;
    evo_rng_stream(&tr, o->seed, EVO_STREAM_TASK, index, 0);
    fit_rng frng = {&tr, so_range};
    fit_task_opts to = {
        .n_train = (uint32_t)o->train, .block_hex = src, .equiv_samples = (uint32_t)o->equiv};
    if (fit_task_make("evm-superopt", &to, &frng, t, err, errcap)) return -1;
    res->orig = fit_evm_static_gas(t->block, t->block_len);
    res->found = res->orig;
    res->how = 'b';
    res->len = t->block_len <= SO_CODE ? t->block_len : 0;
    memcpy(res->code, t->block, res->len);
    res->lower = fit_evm_lower_bound(t);
    if (res->lower < 0) goto oom;
    if (o->codegen && res->found > res->lower) {
        uint8_t *buf = malloc(SO_CODE);
        size_t n = 0;
        int64_t g = 0;
        int r =
            buf ? fit_evm_codegen(t, res->found, o->expand, buf, SO_CODE, &n, &g, &res->expanded)
                : -1;
        if (r == 1) r = so_offer(&s, buf, n, 'c');
        /* the whole block was too big to search through: windows of it */
        if (r >= 0 && res->expanded >= o->expand && o->window && res->found > res->lower) {
            r = fit_evm_codegen_windows(t, res->code, res->len, (uint32_t)o->window, o->expand / 10,
                                        buf, SO_CODE, &n, &g, &res->expanded);
            if (r == 1) r = so_offer(&s, buf, n, 'w');
        }
        free(buf);
        if (r < 0) goto oom;
    }
    if (o->gp && res->found > res->lower && so_gp(&s, err, errcap)) goto cleanup;
    if (res->how != 'b') {
        int pr = fit_evm_prove(t, res->code, res->len);
        if (pr < 0) goto oom;
        res->proved = pr == 1;
    }
    res->rejected = s.nrej;
    rc = 0;
    goto cleanup;
oom:
    snprintf(err, errcap, "out of memory");
cleanup:
    res->seconds = so_now(CLOCK_MONOTONIC) - t0;
    res->cpu = so_now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    free(s.rejected);
    return rc;
}

/* ---- the summary ---- */

#define SO_SOURCES 32

typedef struct {
    char name[96];
    uint64_t blocks, with_pub, matched, beaten, above, improved, proved;
    int64_t saved, pub_saved;
    double *secs, *cpu;
    size_t nsecs, cap;
} so_tally;

static int tally_add(so_tally *a, const so_result *r) {
    if (a->nsecs == a->cap) {
        size_t nc = a->cap ? 2 * a->cap : 64;
        double *s = realloc(a->secs, nc * sizeof *s);
        if (!s) return -1;
        a->secs = s;
        double *c = realloc(a->cpu, nc * sizeof *c);
        if (!c) return -1;
        a->cpu = c;
        a->cap = nc;
    }
    a->secs[a->nsecs] = r->seconds;
    a->cpu[a->nsecs++] = r->cpu;
    a->blocks++;
    a->improved += r->found < r->orig;
    a->proved += r->found < r->orig && r->proved;
    a->saved += r->orig - r->found;
    if (r->published >= 0) {
        a->with_pub++;
        a->matched += r->found == r->published;
        a->beaten += r->found < r->published;
        a->above += r->found > r->published;
        a->pub_saved += r->orig - r->published;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
    if (!n) return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void tally_print(FILE *f, so_tally *a, const char *indent) {
    double ms = median(a->secs, a->nsecs), mc = median(a->cpu, a->nsecs);
    fprintf(f,
            "%s%" PRIu64 " blocks: %" PRIu64 " matched the published gas, %" PRIu64
            " beat it, %" PRIu64 " above it (%.1f%% at least matched, of %" PRIu64
            " with a published figure); %" PRIu64 " improved, %" PRIu64 " of them proved\n"
            "%s  gas saved %" PRId64 " (published %" PRId64
            "); median %.3f s per block (CPU %.3f s)\n",
            indent, a->blocks, a->matched, a->beaten, a->above,
            a->with_pub ? 100.0 * (double)(a->matched + a->beaten) / (double)a->with_pub : 0.0,
            a->with_pub, a->improved, a->proved, indent, a->saved, a->pub_saved, ms, mc);
}

static json_t *tally_json(so_tally *a) {
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "blocks", json_integer((json_int_t)a->blocks));
    json_object_set_new(o, "with_published", json_integer((json_int_t)a->with_pub));
    json_object_set_new(o, "matched", json_integer((json_int_t)a->matched));
    json_object_set_new(o, "beaten", json_integer((json_int_t)a->beaten));
    json_object_set_new(o, "above", json_integer((json_int_t)a->above));
    json_object_set_new(o, "improved", json_integer((json_int_t)a->improved));
    json_object_set_new(o, "proved", json_integer((json_int_t)a->proved));
    json_object_set_new(o, "gas_saved", json_integer((json_int_t)a->saved));
    json_object_set_new(o, "published_gas_saved", json_integer((json_int_t)a->pub_saved));
    json_object_set_new(o, "median_seconds", json_real(median(a->secs, a->nsecs)));
    json_object_set_new(o, "median_cpu_seconds", json_real(median(a->cpu, a->nsecs)));
    return o;
}

static void tally_free(so_tally *a) {
    free(a->secs);
    free(a->cpu);
}

/* The source of a block: its "source" field up to '@' (the repository), or
 * the file's name. */
static void source_name(json_t *j, const char *path, char *out, size_t cap) {
    const char *s = j ? json_string_value(json_object_get(j, "source")) : NULL;
    if (s) {
        size_t n = strcspn(s, "@");
        snprintf(out, cap, "%.*s", (int)(n < cap - 1 ? n : cap - 1), s);
    } else {
        const char *b = strrchr(path, '/');
        snprintf(out, cap, "%s", b ? b + 1 : path);
    }
}

static void csv_field(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* One block of the input, read and checked before any output. */
typedef struct {
    json_t *j;         /* its JSON line, or NULL */
    char *line;        /* a text line (malloc'd), or NULL */
    const char *block; /* into j or line */
    char id[64], src[96];
    int64_t pub; /* the published gas, or -1 */
    uint64_t lineno;
} so_input;

static void so_free(so_input *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        json_decref(v[i].j);
        free(v[i].line);
    }
    free(v);
}

/* Read every line of in, keep the blocks that --id and --limit select and
 * parse each, so that a bad input is an error (file:line[:column]) before
 * any output. 0, or an exit code with the error printed. */
static int so_read(FILE *in, const char *path, const so_opts *o, so_input **out, size_t *n) {
    char *line = NULL;
    size_t lcap = 0, cap = 0;
    ssize_t got;
    uint64_t lineno = 0;
    int rc = EXP_EXIT_OK;
    /* every bad line is reported; out of memory stops the reading */
    while (rc != EXP_EXIT_FAIL && (got = getline(&line, &lcap, in)) != -1) {
        lineno++;
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#') continue;
        if (o->limit && *n >= o->limit) break;
        so_input b = {.lineno = lineno, .pub = -1};
        const char *id = NULL;
        if (*p == '{') {
            json_error_t je;
            b.j = json_loads(line, JSON_REJECT_DUPLICATES, &je);
            const char *hx = b.j ? json_string_value(json_object_get(b.j, "input")) : NULL;
            const char *tx = b.j ? json_string_value(json_object_get(b.j, "input_text")) : NULL;
            b.block = tx && (o->text || !hx) ? tx : hx;
            if (!b.j || !json_is_object(b.j) || !b.block) {
                if (b.j)
                    fprintf(stderr,
                            "frugal superopt: %s:%" PRIu64
                            ": expected an object with a string \"input\" (hex) or "
                            "\"input_text\" (text)\n",
                            path, lineno);
                else
                    fprintf(stderr, "frugal superopt: %s:%" PRIu64 ":%d: %s\n", path, lineno,
                            je.column, je.text);
                json_decref(b.j);
                rc = EXP_EXIT_INPUT;
                continue;
            }
            id = json_string_value(json_object_get(b.j, "id"));
            json_t *cg = json_object_get(b.j, "cancun_static_gas");
            if (json_is_array(cg) && json_array_size(cg) == 2 &&
                json_is_integer(json_array_get(cg, 1)))
                b.pub = (int64_t)json_integer_value(json_array_get(cg, 1));
        } else {
            p[strcspn(p, "\r\n")] = 0;
            if (!(b.line = strdup(p))) {
                fprintf(stderr, "frugal superopt: out of memory\n");
                rc = EXP_EXIT_FAIL;
                break;
            }
            b.block = b.line;
        }
        if (id)
            snprintf(b.id, sizeof b.id, "%s", id);
        else
            snprintf(b.id, sizeof b.id, "line%" PRIu64, lineno);
        if (o->id && strcmp(o->id, b.id)) {
            json_decref(b.j);
            free(b.line);
            continue;
        }
        source_name(b.j, path, b.src, sizeof b.src);
        /* parse the block, to report a bad one at its line and column */
        fit_evm_block blk;
        size_t col = 0;
        char err[512] = "";
        if (fit_evm_block_parse(b.block, &blk, &col, err, sizeof err)) {
            /* the column in the file: the block's text stands verbatim in the
             * line unless JSON escapes changed it */
            const char *at = b.j ? strstr(line, b.block) : p;
            if (col && at)
                fprintf(stderr, "frugal superopt: %s:%" PRIu64 ":%zu: %s\n", path, lineno,
                        (size_t)(at - line) + col, err);
            else if (col)
                fprintf(stderr, "frugal superopt: %s:%" PRIu64 ": block column %zu: %s\n", path,
                        lineno, col, err);
            else
                fprintf(stderr, "frugal superopt: %s:%" PRIu64 ": %s\n", path, lineno, err);
            json_decref(b.j);
            free(b.line);
            rc = EXP_EXIT_INPUT;
            continue;
        }
        fit_evm_block_free(&blk);
        if (*n == cap) {
            size_t nc = cap ? 2 * cap : 64;
            so_input *q = realloc(*out, nc * sizeof *q);
            if (!q) {
                json_decref(b.j);
                free(b.line);
                fprintf(stderr, "frugal superopt: out of memory\n");
                rc = EXP_EXIT_FAIL;
                break;
            }
            *out = q;
            cap = nc;
        }
        (*out)[(*n)++] = b;
    }
    free(line);
    if (rc) {
        so_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int exp_cmd_superopt(int argc, char **argv) {
    static const struct option lopts[] = {
        {"budget", required_argument, 0, 'b'}, {"pop", required_argument, 0, 'p'},
        {"seed", required_argument, 0, 's'},   {"threads", required_argument, 0, 't'},
        {"equiv", required_argument, 0, 'e'},  {"train", required_argument, 0, 'n'},
        {"limit", required_argument, 0, 'l'},  {"id", required_argument, 0, 'i'},
        {"out", required_argument, 0, 'o'},    {"quiet", no_argument, 0, 'q'},
        {"stall", required_argument, 0, 'S'},  {"expand", required_argument, 0, 'x'},
        {"no-codegen", no_argument, 0, 'C'},   {"no-gp", no_argument, 0, 'G'},
        {"text", no_argument, 0, 'T'},         {"json", required_argument, 0, 'j'},
        {"window", required_argument, 0, 'w'}, {"strict-depth", no_argument, 0, 'D'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    so_opts o = {.budget = 20000,
                 .pop = 100,
                 .seed = 1,
                 .equiv = FIT_EQUIV_SAMPLES,
                 .stall = 12,
                 .expand = 50000,
                 .window = 10,
                 .codegen = true,
                 .gp = true};
    const char *out = NULL, *jpath = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hq", lopts, NULL)) != -1) {
        uint64_t *dst = NULL;
        switch (c) {
        case 'b': dst = &o.budget; break;
        case 'p': dst = &o.pop; break;
        case 's': dst = &o.seed; break;
        case 't': dst = &o.threads; break;
        case 'e': dst = &o.equiv; break;
        case 'n': dst = &o.train; break;
        case 'l': dst = &o.limit; break;
        case 'S': dst = &o.stall; break;
        case 'x': dst = &o.expand; break;
        case 'w': dst = &o.window; break;
        case 'i': o.id = optarg; break;
        case 'o': out = optarg; break;
        case 'j': jpath = optarg; break;
        case 'q': o.quiet = true; break;
        case 'C': o.codegen = false; break;
        case 'G': o.gp = false; break;
        case 'T': o.text = true; break;
        case 'D': o.strict_depth = true; break;
        case 'h': fputs(superopt_usage, stdout); return EXP_EXIT_OK;
        default: fputs(superopt_usage, stderr); return EXP_EXIT_USAGE;
        }
        if (dst) {
            char name[32];
            snprintf(name, sizeof name, "--%s", lopts[0].name);
            for (const struct option *q = lopts; q->name; q++)
                if (q->val == c) snprintf(name, sizeof name, "--%s", q->name);
            if (exp_parse_u64(name, optarg, dst)) return EXP_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fputs(superopt_usage, stderr);
        return EXP_EXIT_USAGE;
    }
    if (o.pop < 3 || o.pop > 1000000 || (o.gp && o.budget < o.pop) || o.threads > 1024 ||
        o.equiv > 100000000 || o.train > 1000000) {
        fprintf(stderr, "frugal superopt: need --pop in 3..1000000 (2 elites), --budget >= --pop, "
                        "--threads <= 1024, --equiv <= 1e8, --train <= 1e6\n");
        return EXP_EXIT_USAGE;
    }
    const char *path = argv[optind];
    FILE *in = fopen(path, "r");
    if (!in) {
        fprintf(stderr, "frugal superopt: cannot read %s: %s\n", path, strerror(errno));
        return EXP_EXIT_IO;
    }
    /* the whole file is read and every block checked first: a bad input is
     * an error before any output (no CSV header, no summary) */
    so_input *bv = NULL;
    size_t nb = 0;
    int rc = so_read(in, path, &o, &bv, &nb);
    fclose(in);
    if (!rc && o.id && !nb) {
        fprintf(stderr, "frugal superopt: %s: no block has the id %s\n", path, o.id);
        rc = EXP_EXIT_USAGE;
    }
    FILE *csv = NULL;
    if (!rc && !(csv = out ? fopen(out, "w") : stdout)) {
        fprintf(stderr, "frugal superopt: cannot write %s: %s\n", out, strerror(errno));
        rc = EXP_EXIT_IO;
    }
    if (rc) {
        so_free(bv, nb);
        return rc;
    }
    FILE *sum = out ? stdout : stderr;
    fprintf(csv, "id,source,original_gas,published_gas,frugal_gas,lower_bound,saved,"
                 "published_saved,matched,beat,equivalent,proved,found_by,expanded,"
                 "evaluations,generations,rejected,seconds,cpu_seconds,program_hex,program\n");
    so_tally all = {.name = "all"}, src[SO_SOURCES];
    uint32_t nsrc = 0;
    memset(src, 0, sizeof src);
    so_result *res = malloc(sizeof *res);
    char *text = malloc(4 * SO_CODE + 64), *hex = malloc(2 * SO_CODE + 1);
    if (!res || !text || !hex) {
        fprintf(stderr, "frugal superopt: out of memory\n");
        rc = EXP_EXIT_FAIL;
        goto done;
    }
    for (size_t bi = 0; bi < nb; bi++) {
        const char *block = bv[bi].block, *id = bv[bi].id, *srcname = bv[bi].src;
        uint64_t lineno = bv[bi].lineno;
        int64_t pub = bv[bi].pub;
        char err[512] = "";
        memset(res, 0, sizeof *res);
        fit_task t;
        memset(&t, 0, sizeof t);
        if (so_block(block, lineno - 1, &o, res, &t, err, sizeof err)) {
            fprintf(stderr, "frugal superopt: %s:%" PRIu64 " (%s): %s\n", path, lineno, id, err);
            fit_task_free(&t);
            rc = EXP_EXIT_INPUT;
            continue;
        }
        res->published = pub;
        so_tally *sa = NULL;
        for (uint32_t k = 0; k < nsrc && !sa; k++)
            if (!strcmp(src[k].name, srcname)) sa = &src[k];
        if (!sa && nsrc < SO_SOURCES) {
            sa = &src[nsrc++];
            snprintf(sa->name, sizeof sa->name, "%s", srcname);
        }
        if (tally_add(&all, res) || (sa && tally_add(sa, res))) {
            fprintf(stderr, "frugal superopt: out of memory\n");
            fit_task_free(&t);
            rc = EXP_EXIT_FAIL;
            break;
        }
        exp_hex(res->code, res->len, hex);
        fit_evm_code_text(res->code, res->len, t.opaque, t.n_opaque, text, 4 * SO_CODE + 64);
        fprintf(csv,
                "%s,%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
                ",%d,%d,%d,%d,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.3f,%.3f,%s,",
                id, srcname, res->orig, pub, res->found, res->lower, res->orig - res->found,
                pub >= 0 ? res->orig - pub : 0, pub >= 0 && res->found == pub,
                pub >= 0 && res->found < pub, res->equivalent, res->proved, so_how(res->how),
                res->expanded, res->evaluations, res->generations, res->rejected, res->seconds,
                res->cpu, hex);
        csv_field(csv, text);
        fputc('\n', csv);
        fflush(csv);
        if (!o.quiet)
            fprintf(stderr,
                    "superopt %s: %" PRId64 " -> %" PRId64 " gas (published %" PRId64
                    ", bound %" PRId64 ", %s) in %.2f s\n",
                    id, res->orig, res->found, pub, res->lower, so_how(res->how), res->seconds);
        fit_task_free(&t);
    }
    fprintf(sum, "superopt summary (%s):\n", path);
    tally_print(sum, &all, "  ");
    for (uint32_t k = 0; nsrc > 1 && k < nsrc; k++) {
        fprintf(sum, "  source %s:\n", src[k].name);
        tally_print(sum, &src[k], "    ");
    }
    if (jpath) {
        json_t *root = tally_json(&all), *by = json_object();
        for (uint32_t k = 0; root && by && k < nsrc; k++)
            json_object_set_new(by, src[k].name, tally_json(&src[k]));
        if (root && by) {
            json_object_set_new(root, "file", json_string(path));
            json_object_set_new(root, "sources", by);
            by = NULL;
            FILE *jf = strcmp(jpath, "-") ? fopen(jpath, "w") : stdout;
            if (!jf || json_dumpf(root, jf, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) ||
                fputc('\n', jf) == EOF || (jf != stdout && fclose(jf))) {
                fprintf(stderr, "frugal superopt: cannot write %s\n", jpath);
                rc = EXP_EXIT_IO;
            }
        }
        json_decref(by);
        json_decref(root);
    }
done:
    so_free(bv, nb);
    free(res);
    free(text);
    free(hex);
    tally_free(&all);
    for (uint32_t k = 0; k < nsrc; k++)
        tally_free(&src[k]);
    if (out && fclose(csv)) {
        fprintf(stderr, "frugal superopt: cannot write %s\n", out);
        rc = EXP_EXIT_IO;
    }
    return rc;
}
