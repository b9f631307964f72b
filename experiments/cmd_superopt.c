/* `frugal superopt FILE.jsonl`: EVM gas superoptimisation by GP on every
 * block of a JSON-lines file (../shared/benchmarks/evm-superopt/blocks.jsonl
 * format), each with a fixed budget of evaluations; the best equivalent
 * program is checked on a large seeded random input set plus the edge values
 * (fit_evm_equivalent). One CSV row per block, then a summary (docs/tasks.md,
 * "evm-superopt"). */
#include "evolve/evolve.h"
#include "experiments/cli.h"
#include "vm/evm/evm.h"

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
    "usage: frugal superopt FILE.jsonl [--budget EVALS] [--pop N] [--seed S] [--threads N]\n"
    "                       [--equiv N] [--train N] [--limit N] [--id ID] [--out FILE.csv]\n"
    "                       [--quiet]\n\n"
    "Evolve a cheaper equivalent of every EVM block in FILE.jsonl (one JSON object per\n"
    "line with \"input\" (hex) and optionally \"id\" and \"cancun_static_gas\": [original,\n"
    "published]). Each block gets the same budget of program evaluations. The best\n"
    "candidate (zero training error, lowest gas) is checked on --equiv random initial\n"
    "stacks plus every combination of the edge values 0, 1, 2^255, 2^256-1; only an\n"
    "equivalent program counts. Writes one CSV row per block (to --out, or stdout) and\n"
    "a summary: blocks improved, matched and beaten, total gas saved and its ratio to\n"
    "the published savings.\n\n"
    "  --budget EVALS  program evaluations per block (default 20000)\n"
    "  --pop N         population size (default 200)\n"
    "  --seed S        run seed (default 1); block i uses stream (S, TASK, i, 0)\n"
    "  --threads N     OpenMP threads (0: default); never changes the results\n"
    "  --equiv N       random stacks for the equivalence check (default 10000)\n"
    "  --train N       training stacks (default 32)\n"
    "  --limit N       only the first N blocks\n"
    "  --id ID         only the block with this id\n"
    "  --quiet         no per-block progress on stderr\n";

typedef struct {
    uint64_t budget, pop, seed, threads, equiv, train, limit;
    const char *id;
    bool quiet;
} so_opts;

typedef struct {
    int64_t orig, published, found; /* Cancun static gas; published -1 if unknown */
    bool equivalent;                /* found < orig by an equivalent program */
    uint64_t evaluations, rejected;
    double seconds;
    uint8_t code[4096];
    uint32_t len;
} so_result;

static double so_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void so_text(const uint8_t *c, size_t n, char *out, size_t cap) {
    size_t o = 0;
    out[0] = 0;
    for (size_t pc = 0; pc < n && o + 80 < cap;) {
        uint8_t op = c[pc];
        const evm_opinfo *oi = evm_opinfo_of(op);
        size_t k = op >= EVM_OP_PUSH1 && op <= EVM_OP_PUSH32 ? (size_t)(op - EVM_OP_PUSH1 + 1) : 0;
        o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? " " : "", oi->name ? oi->name : "?");
        if (k) {
            o += (size_t)snprintf(out + o, cap - o, " 0x");
            bool lead = true;
            for (size_t j = 0; j < k && pc + 1 + j < n && o + 4 < cap; j++) {
                if (lead && c[pc + 1 + j] == 0 && j + 1 < k) continue;
                o += (size_t)snprintf(out + o, cap - o, lead ? "%x" : "%02x", c[pc + 1 + j]);
                lead = false;
            }
        }
        pc += 1 + k;
    }
}

static void so_hex(const uint8_t *c, size_t n, char *out, size_t cap) {
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && o + 3 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%02x", c[i]);
}

static int64_t so_range(void *ctx, int64_t lo, int64_t hi) {
    return evo_rng_range((evo_rng *)ctx, lo, hi);
}

/* Optimise one block. Returns 0, or -1 with a message in err. */
static int so_block(const char *hex, uint64_t index, const so_opts *o, so_result *res, char *err,
                    size_t errcap) {
    int rc = -1;
    fit_task t;
    bool have_task = false;
    evo_run *run = NULL;
    uint64_t *rejected = NULL;
    size_t nrej = 0, caprej = 0;
    double t0 = so_now();
    evo_rng tr;
    evo_rng_stream(&tr, o->seed, EVO_STREAM_TASK, index, 0);
    fit_rng frng = {&tr, so_range};
    fit_task_opts to = {
        .n_train = (uint32_t)o->train, .block_hex = hex, .equiv_samples = (uint32_t)o->equiv};
    if (fit_task_make("evm-superopt", &to, &frng, &t, err, errcap)) goto cleanup;
    have_task = true;
    res->orig = fit_evm_static_gas(t.block, t.block_len);
    res->found = res->orig;
    res->equivalent = false;
    res->len = t.block_len <= sizeof res->code ? t.block_len : 0;
    memcpy(res->code, t.block, res->len);
    evo_isa isa;
    evo_isa_for_task(&isa, &t);
    evo_params p;
    evo_params_default(&p, &isa, &t);
    p.seed = o->seed + index;
    p.pop_size = (uint32_t)o->pop;
    p.threads = (uint32_t)o->threads;
    p.max_generations = 0;
    p.max_evaluations = o->budget;
    p.tournament = 4;
    p.elites = 2;
    p.tiebreak = EVO_TIE_GAS; /* lexicographic: error, then gas, then length */
    p.target_error = -1;
    run = evo_run_new(&p, &t, err, errcap);
    if (!run) goto cleanup;
    /* the equivalence check's random stacks: stream (seed, TASK, index, 1) */
    evo_rng er;
    evo_rng_stream(&er, o->seed, EVO_STREAM_TASK, index, 1);
    fit_rng erng = {&er, so_range};
    for (;;) {
        int s = evo_run_step(run);
        if (s < 0) {
            snprintf(err, errcap, "out of memory");
            goto cleanup;
        }
        if (s == 1) break;
        if (evo_run_generation(run) == 0) { /* seed a tenth of each island with the block */
            uint32_t nseed = p.pop_size / 10 ? p.pop_size / 10 : 1;
            for (uint32_t k = 0; k < p.islands; k++)
                for (uint32_t i = 0; i < nseed; i++)
                    if (evo_run_seed(run, k, i, t.block, t.block_len)) {
                        snprintf(err, errcap, "the block is not a genome of the EVM ISA");
                        goto cleanup;
                    }
        }
        /* every island's zero-error programs cheaper than the best so far */
        for (uint32_t k = 0; k < p.islands; k++) {
            evo_pop_view v;
            evo_run_island(run, k, &v);
            for (uint32_t i = 0; i < v.n; i++) {
                if (v.error[i] != 0) continue;
                const uint8_t *c = v.code + (size_t)i * v.stride;
                int64_t g = fit_evm_static_gas(c, v.len[i]);
                if (g < 0 || g >= res->found || v.len[i] > sizeof res->code) continue;
                uint64_t h = 1469598103934665603ull;
                for (uint32_t j = 0; j < v.len[i]; j++)
                    h = (h ^ c[j]) * 1099511628211ull;
                bool seen = false;
                for (size_t j = 0; j < nrej && !seen; j++)
                    seen = rejected[j] == h;
                if (seen) continue;
                evo_rng_stream(&er, o->seed, EVO_STREAM_TASK, index, 1);
                int eq = fit_evm_equivalent(&t, c, v.len[i], &erng, NULL);
                if (eq < 0) {
                    snprintf(err, errcap, "out of memory");
                    goto cleanup;
                }
                if (eq == 1) {
                    res->found = g;
                    res->equivalent = true;
                    res->len = v.len[i];
                    memcpy(res->code, c, v.len[i]);
                } else {
                    if (base_grow((void **)&rejected, &caprej, nrej + 1, sizeof *rejected,
                                  SIZE_MAX))
                        goto cleanup;
                    rejected[nrej++] = h;
                }
            }
        }
    }
    res->evaluations = evo_run_evaluations(run);
    res->rejected = nrej;
    rc = 0;
cleanup:
    res->seconds = so_now() - t0;
    free(rejected);
    evo_run_free(run);
    if (have_task) fit_task_free(&t);
    return rc;
}

int exp_cmd_superopt(int argc, char **argv) {
    static const struct option lopts[] = {
        {"budget", required_argument, 0, 'b'}, {"pop", required_argument, 0, 'p'},
        {"seed", required_argument, 0, 's'},   {"threads", required_argument, 0, 't'},
        {"equiv", required_argument, 0, 'e'},  {"train", required_argument, 0, 'n'},
        {"limit", required_argument, 0, 'l'},  {"id", required_argument, 0, 'i'},
        {"out", required_argument, 0, 'o'},    {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    so_opts o = {.budget = 20000, .pop = 200, .seed = 1, .equiv = FIT_EQUIV_SAMPLES, .train = 0};
    const char *out = NULL;
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
        case 'i': o.id = optarg; break;
        case 'o': out = optarg; break;
        case 'q': o.quiet = true; break;
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
    if (o.pop < 2 || o.pop > 1000000 || o.budget < o.pop || o.threads > 1024 ||
        o.equiv > 100000000 || o.train > 1000000) {
        fprintf(stderr, "frugal superopt: need --pop in 2..1000000, --budget >= --pop, "
                        "--threads <= 1024, --equiv <= 1e8, --train <= 1e6\n");
        return EXP_EXIT_USAGE;
    }
    const char *path = argv[optind];
    FILE *in = fopen(path, "r");
    if (!in) {
        fprintf(stderr, "frugal superopt: cannot read %s\n", path);
        return EXP_EXIT_IO;
    }
    FILE *csv = out ? fopen(out, "w") : stdout;
    if (!csv) {
        fprintf(stderr, "frugal superopt: cannot write %s\n", out);
        fclose(in);
        return EXP_EXIT_IO;
    }
    FILE *sum = out ? stdout : stderr;
    fprintf(csv, "id,original_gas,published_gas,frugal_gas,saved,published_saved,matched,beat,"
                 "equivalent,evaluations,rejected,seconds,program_hex,program\n");
    int rc = EXP_EXIT_OK;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    uint64_t lineno = 0, nblocks = 0, improved = 0, matched = 0, beat = 0, reached = 0,
             with_pub = 0, evals = 0;
    int64_t saved = 0, pub_saved = 0, saved_on_pub = 0;
    double secs = 0;
    while ((got = getline(&line, &cap, in)) != -1) {
        lineno++;
        if (got <= 1 && (got == 0 || line[0] == '\n')) continue;
        if (o.limit && nblocks >= o.limit) break;
        json_error_t je;
        json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &je);
        const char *hex = j ? json_string_value(json_object_get(j, "input")) : NULL;
        if (!j || !json_is_object(j) || !hex) {
            fprintf(stderr, "frugal superopt: %s:%" PRIu64 ": %s\n", path, lineno,
                    j ? "expected an object with a string \"input\" (the block as hex)" : je.text);
            json_decref(j);
            rc = EXP_EXIT_INPUT;
            break;
        }
        const char *id = json_string_value(json_object_get(j, "id"));
        char idbuf[32];
        if (!id) {
            snprintf(idbuf, sizeof idbuf, "line%" PRIu64, lineno);
            id = idbuf;
        }
        if (o.id && strcmp(o.id, id)) {
            json_decref(j);
            continue;
        }
        json_t *cg = json_object_get(j, "cancun_static_gas");
        int64_t pub = -1;
        if (json_is_array(cg) && json_array_size(cg) == 2 && json_is_integer(json_array_get(cg, 1)))
            pub = (int64_t)json_integer_value(json_array_get(cg, 1));
        so_result res;
        memset(&res, 0, sizeof res);
        char err[512] = "";
        if (so_block(hex, lineno - 1, &o, &res, err, sizeof err)) {
            fprintf(stderr, "frugal superopt: %s:%" PRIu64 " (%s): %s\n", path, lineno, id, err);
            json_decref(j);
            rc = EXP_EXIT_INPUT;
            continue;
        }
        res.published = pub;
        nblocks++;
        evals += res.evaluations;
        secs += res.seconds;
        int64_t s = res.orig - res.found, ps = pub >= 0 ? res.orig - pub : 0;
        saved += s;
        improved += s > 0;
        if (pub >= 0) {
            with_pub++;
            pub_saved += ps;
            saved_on_pub += s;
            matched += res.found == pub;
            beat += res.found < pub;
            reached += res.found <= pub;
        }
        char phex[8300], ptext[16384];
        so_hex(res.code, res.len, phex, sizeof phex);
        so_text(res.code, res.len, ptext, sizeof ptext);
        fprintf(csv,
                "%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%d,%d,%d,%" PRIu64
                ",%" PRIu64 ",%.3f,%s,\"%s\"\n",
                id, res.orig, pub, res.found, s, ps, pub >= 0 && res.found == pub,
                pub >= 0 && res.found < pub, res.equivalent, res.evaluations, res.rejected,
                res.seconds, phex, ptext);
        fflush(csv);
        if (!o.quiet)
            fprintf(stderr,
                    "superopt %s: %" PRId64 " -> %" PRId64 " gas (published %" PRId64
                    ") in %.2f s\n",
                    id, res.orig, res.found, pub, res.seconds);
        json_decref(j);
    }
    free(line);
    fclose(in);
    if (out && fclose(csv)) {
        fprintf(stderr, "frugal superopt: cannot write %s\n", out);
        rc = EXP_EXIT_IO;
    }
    fprintf(sum,
            "superopt summary: %" PRIu64 " blocks, %" PRIu64 " improved, %" PRIu64
            " matched the published gas, %" PRIu64 " beat it (%" PRIu64
            " at least matched, of %" PRIu64 " with a published figure)\n"
            "  gas saved %" PRId64 " (published %" PRId64 " on the same blocks: ratio %.3f)\n"
            "  %" PRIu64 " evaluations, %.1f s (%.2f s per block)\n",
            nblocks, improved, matched, beat, reached, with_pub, saved, pub_saved,
            pub_saved > 0 ? (double)saved_on_pub / (double)pub_saved : 0.0, evals, secs,
            nblocks ? secs / (double)nblocks : 0.0);
    return rc;
}
