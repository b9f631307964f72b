/* frugal arena: a round-robin tournament of player programs (docs/arena.md). */
#include "store/store.h"
#include "experiments/cli.h"
#include "fitness/fitness.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void arena_usage(FILE *f) {
    fprintf(f, "usage: frugal arena SPEC.json [--out FILE.h5] [--force] [--checkpoint FILE]\n"
               "                    [--resume FILE] [--stop-after N]\n"
               "\n"
               "Play a round-robin tournament of the players listed in SPEC.json and print\n"
               "each player's score, gas and memory-time. Every move runs in its own sandbox\n"
               "under the per-move limits; a player that faults, exhausts a budget or writes\n"
               "no legal move forfeits that move (docs/arena.md).\n"
               "\n"
               "  --out FILE.h5      where the finished tournament goes for frugal report\n"
               "                     (default results/arena/<spec name>.h5)\n"
               "  --force            replace an existing --out file\n"
               "  --checkpoint FILE  write the referee's state to FILE after every match\n"
               "  --resume FILE      continue the tournament saved in FILE (same spec)\n"
               "  --stop-after N     stop after N rounds in all (write --checkpoint first)\n"
               "  -h, --help         this text\n"
               "\n"
               "Spec (strict JSON; unknown keys are errors):\n"
               "  {\"game\": \"ipd\" | \"blotto\", \"rounds\": N, \"seed\": N,\n"
               "   \"limits\": {\"gas\": N, \"evm_gas\": N, \"mem\": N, \"memtime\": N},\n"
               "   \"blotto\": {\"soldiers\": N, \"fields\": N},\n"
               "   \"evm_policy\": \"allow\" | \"isolated\" | \"keys:ITEM[,ITEM...]\" | "
               "\"tables:BITS\",\n"
               "   \"players\": [{\"name\": \"...\", \"file\": \"...\"}, ...]}\n"
               "evm_policy: the EVM players' policy in frugal evm --policy's words (see\n"
               "frugal evm --help); without it, isolated with SSTORE only into the player's\n"
               "table (slots whose top 128 bits are zero).\n"
               "Player files (relative to the spec): .s native assembly, .bin native\n"
               "bytecode, .hex/.evm EVM bytecode as hex ('#' starts a comment).\n");
}

typedef struct {
    const char *src; /* the spec's path, for messages */
    char *err;
    size_t cap;
} sctx;

/* Every key of obj must be in the NULL-terminated list. */
static int check_keys(sctx *c, const json_t *obj, const char *path, const char *const *keys) {
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        bool ok = false;
        for (size_t i = 0; keys[i]; i++)
            if (!strcmp(keys[i], key)) ok = true;
        if (!ok) {
            char list[256] = "";
            for (size_t i = 0; keys[i]; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                         keys[i]);
            snprintf(c->err, c->cap, "%s: %s: unknown key \"%s\" (expected one of: %s)", c->src,
                     path, key, list);
            return -1;
        }
    }
    (void)val;
    return 0;
}

/* An optional non-negative integer obj.key <= max into *out. */
static int get_uint(sctx *c, const json_t *obj, const char *path, const char *key, uint64_t max,
                    uint64_t *out) {
    json_t *v = json_object_get(obj, key);
    if (!v) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max) {
        snprintf(c->err, c->cap, "%s: %s.%s: expected an integer 0..%" PRIu64, c->src, path, key,
                 max);
        return -1;
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static bool ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

/* Load a player file: 0, or an exit code (the error is printed). */
static int load_player(const char *path, fit_isa *isa, vm_buf *code) {
    if (ends_with(path, ".s") || ends_with(path, ".bin")) {
        *isa = FIT_ISA_NATIVE;
        return exp_load_program(path, code);
    }
    if (!ends_with(path, ".hex") && !ends_with(path, ".evm")) {
        fprintf(stderr, "frugal: %s: unknown player file type (expected .s, .bin, .hex or .evm)\n",
                path);
        return EXP_EXIT_INPUT;
    }
    *isa = FIT_ISA_EVM;
    vm_buf src = {0};
    int rc = exp_read_file(path, &src);
    if (rc) return rc;
    char *hex = malloc(src.len + 1);
    if (!hex) {
        vm_buf_free(&src);
        fprintf(stderr, "frugal: %s: out of memory\n", path);
        return EXP_EXIT_IO;
    }
    size_t k = 0;
    bool comment = false;
    for (size_t i = 0; i < src.len; i++) {
        char ch = (char)src.data[i];
        if (ch == '#') comment = true;
        if (ch == '\n') comment = false;
        if (!comment) hex[k++] = ch;
    }
    hex[k] = 0;
    uint8_t *bytes = NULL;
    size_t n = 0;
    if (strlen(hex) != k || evm_hex_decode(hex, &bytes, &n)) {
        fprintf(stderr,
                "frugal: %s: not EVM hex (0x optional, whitespace and # comments allowed)\n", path);
        rc = EXP_EXIT_INPUT;
    } else {
        vm_buf_free(code);
        code->data = bytes;
        code->len = code->cap = n;
    }
    free(hex);
    vm_buf_free(&src);
    return rc;
}

/* Parse the spec and make the arena with its players: 0 or an exit code. */
static int load_spec(const char *path, fit_arena **out) {
    static const char *const top_keys[] = {"game",   "rounds",  "seed",       "limits",
                                           "blotto", "players", "evm_policy", NULL};
    static const char *const limit_keys[] = {"gas", "evm_gas", "mem", "memtime", NULL};
    static const char *const blotto_keys[] = {"soldiers", "fields", NULL};
    static const char *const player_keys[] = {"name", "file", NULL};
    char err[512] = "";
    sctx c = {path, err, sizeof err};
    json_error_t je;
    fit_arena *a = NULL;
    int rc = EXP_EXIT_INPUT;
    char *dir_copy = strdup(path);
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!dir_copy) {
        snprintf(err, sizeof err, "%s: out of memory", path);
        goto cleanup;
    }
    if (!root) {
        if (je.position == 0 && strstr(je.text, "unable to open")) {
            fprintf(stderr, "frugal: %s\n", je.text);
            rc = EXP_EXIT_IO;
            goto cleanup;
        }
        snprintf(err, sizeof err, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        goto cleanup;
    }
    if (!json_is_object(root)) {
        snprintf(err, sizeof err, "%s: $: expected an object", path);
        goto cleanup;
    }
    if (check_keys(&c, root, "$", top_keys)) goto cleanup;
    fit_arena_config cfg = {0};
    json_t *g = json_object_get(root, "game");
    if (!json_is_string(g) ||
        (strcmp(json_string_value(g), "ipd") && strcmp(json_string_value(g), "blotto"))) {
        snprintf(err, sizeof err, "%s: $.game: expected \"ipd\" or \"blotto\"", path);
        goto cleanup;
    }
    cfg.game = strcmp(json_string_value(g), "ipd") ? FIT_GAME_BLOTTO : FIT_GAME_IPD;
    uint64_t v = 0;
    if (get_uint(&c, root, "$", "rounds", FIT_ARENA_MAX_ROUNDS, &v)) goto cleanup;
    cfg.rounds = (uint32_t)v;
    if (get_uint(&c, root, "$", "seed", INT64_MAX, &cfg.seed)) goto cleanup;
    json_t *pol = json_object_get(root, "evm_policy");
    if (pol) {
        char perr[256];
        evm_policy_spec *ps = NULL;
        if (!json_is_string(pol)) {
            snprintf(err, sizeof err, "%s: $.evm_policy: expected a string", path);
            goto cleanup;
        }
        if (strlen(json_string_value(pol)) >= sizeof cfg.evm_policy) {
            snprintf(err, sizeof err, "%s: $.evm_policy: longer than %zu characters", path,
                     sizeof cfg.evm_policy - 1);
            goto cleanup;
        }
        if (!(ps = evm_policy_parse(json_string_value(pol), perr, sizeof perr))) {
            snprintf(err, sizeof err, "%s: $.evm_policy: %s", path, perr);
            goto cleanup;
        }
        evm_policy_spec_free(ps);
        snprintf(cfg.evm_policy, sizeof cfg.evm_policy, "%s", json_string_value(pol));
    }
    json_t *lim = json_object_get(root, "limits");
    if (lim) {
        if (!json_is_object(lim)) {
            snprintf(err, sizeof err, "%s: $.limits: expected an object", path);
            goto cleanup;
        }
        if (check_keys(&c, lim, "$.limits", limit_keys)) goto cleanup;
        if (get_uint(&c, lim, "$.limits", "gas", VM_MAX_GAS, &cfg.gas) ||
            get_uint(&c, lim, "$.limits", "evm_gas", INT64_MAX / 2, &cfg.evm_gas) ||
            get_uint(&c, lim, "$.limits", "memtime", VM_MAX_MEMTIME, &cfg.memtime))
            goto cleanup;
        v = 0;
        if (get_uint(&c, lim, "$.limits", "mem", VM_MAX_MEM, &v)) goto cleanup;
        cfg.mem = (uint32_t)v;
    }
    json_t *bl = json_object_get(root, "blotto");
    if (bl) {
        if (!json_is_object(bl)) {
            snprintf(err, sizeof err, "%s: $.blotto: expected an object", path);
            goto cleanup;
        }
        if (check_keys(&c, bl, "$.blotto", blotto_keys)) goto cleanup;
        v = 0;
        if (get_uint(&c, bl, "$.blotto", "soldiers", 255, &v)) goto cleanup;
        cfg.soldiers = (uint32_t)v;
        v = 0;
        if (get_uint(&c, bl, "$.blotto", "fields", 8, &v)) goto cleanup;
        cfg.fields = (uint32_t)v;
    }
    char aerr[256];
    a = fit_arena_new(&cfg, aerr, sizeof aerr);
    if (!a) {
        snprintf(err, sizeof err, "%s: %s", path, aerr);
        goto cleanup;
    }
    json_t *ps = json_object_get(root, "players");
    if (!json_is_array(ps) || json_array_size(ps) < 2) {
        snprintf(err, sizeof err, "%s: $.players: expected an array of at least 2 players", path);
        goto cleanup;
    }
    const char *dir = dirname(dir_copy);
    for (size_t i = 0; i < json_array_size(ps); i++) {
        json_t *p = json_array_get(ps, i);
        char pp[64];
        snprintf(pp, sizeof pp, "$.players[%zu]", i);
        if (!json_is_object(p)) {
            snprintf(err, sizeof err, "%s: %s: expected an object", path, pp);
            goto cleanup;
        }
        if (check_keys(&c, p, pp, player_keys)) goto cleanup;
        json_t *name = json_object_get(p, "name"), *file = json_object_get(p, "file");
        if (!json_is_string(name) || !json_string_length(name)) {
            snprintf(err, sizeof err, "%s: %s.name: expected a non-empty string", path, pp);
            goto cleanup;
        }
        if (!json_is_string(file)) {
            snprintf(err, sizeof err, "%s: %s.file: expected a string", path, pp);
            goto cleanup;
        }
        const char *f = json_string_value(file);
        char fpath[4096];
        if (f[0] == '/')
            snprintf(fpath, sizeof fpath, "%s", f);
        else
            snprintf(fpath, sizeof fpath, "%s/%s", dir, f);
        fit_isa isa;
        vm_buf code = {0};
        int lrc = load_player(fpath, &isa, &code);
        if (lrc) {
            vm_buf_free(&code);
            rc = lrc;
            err[0] = 0;
            goto cleanup;
        }
        int arc =
            fit_arena_add(a, json_string_value(name), isa, code.data, code.len, aerr, sizeof aerr);
        vm_buf_free(&code);
        if (arc) {
            snprintf(err, sizeof err, "%s: %s: %s", path, pp, aerr);
            goto cleanup;
        }
    }
    *out = a;
    a = NULL;
    rc = EXP_EXIT_OK;
cleanup:
    if (rc && err[0]) fprintf(stderr, "frugal: %s\n", err);
    fit_arena_free(a);
    json_decref(root);
    free(dir_copy);
    return rc;
}

static int write_checkpoint(const fit_arena *a, const char *path) {
    vm_buf b = {0};
    int rc = EXP_EXIT_OK;
    if (fit_arena_save(a, &b)) {
        fprintf(stderr, "frugal: out of memory writing %s\n", path);
        rc = EXP_EXIT_IO;
        goto cleanup;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(b.data, 1, b.len, f) == b.len;
    if (f && fclose(f) != 0) ok = false;
    if (!ok || rename(tmp, path) != 0) { /* atomically: never a half-written checkpoint */
        fprintf(stderr, "frugal: cannot write %s: %s\n", path, strerror(errno));
        remove(tmp);
        rc = EXP_EXIT_IO;
    }
cleanup:
    vm_buf_free(&b);
    return rc;
}

static void print_table(const fit_arena *a, FILE *out) {
    const fit_arena_config *c = fit_arena_config_get(a);
    uint32_t n = fit_arena_nplayers(a);
    fprintf(out,
            "game %s, %" PRIu32 " rounds per match, seed %" PRIu64 ", %" PRIu32 " players, %" PRIu32
            " matches\n",
            c->game == FIT_GAME_IPD ? "ipd" : "blotto", c->rounds, c->seed, n,
            fit_arena_nmatches(a));
    fprintf(out,
            "per move: gas %" PRIu64 " (EVM %" PRIu64 "), mem %" PRIu32 " words, memtime %" PRIu64
            "\n",
            c->gas, c->evm_gas, c->mem, c->memtime);
    if (c->evm_policy[0]) fprintf(out, "EVM policy: %s\n", c->evm_policy);
    fputc('\n', out);
    uint32_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!order) return;
    for (uint32_t i = 0; i < n; i++)
        order[i] = i;
    for (uint32_t i = 1; i < n; i++) /* by score, then spec order: stable insertion */
        for (uint32_t j = i; j > 0; j--) {
            const fit_arena_stats *x = fit_arena_stats_get(a, order[j - 1]);
            const fit_arena_stats *y = fit_arena_stats_get(a, order[j]);
            if (y->score <= x->score) break;
            uint32_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    fprintf(out, "%4s  %-18s %-6s %8s %11s %12s %14s %6s %8s %6s %6s %6s %6s %6s\n", "rank",
            "player", "isa", "score", "W-D-L", "gas", "memtime", "moves", "forfeit", "fault",
            "exhst", "nomove", "badmv", "denied");
    for (uint32_t r = 0; r < n; r++) {
        uint32_t i = order[r];
        const fit_arena_stats *s = fit_arena_stats_get(a, i);
        char wdl[40];
        snprintf(wdl, sizeof wdl, "%" PRIu32 "-%" PRIu32 "-%" PRIu32, s->wins, s->draws, s->losses);
        fprintf(out,
                "%4" PRIu32 "  %-18s %-6s %8" PRId64 " %11s %12" PRIu64 " %14" PRIu64 " %6" PRIu32
                " %8" PRIu32 " %6" PRIu32 " %6" PRIu32 " %6" PRIu32 " %6" PRIu32 " %6" PRIu32 "\n",
                r + 1, fit_arena_name(a, i), fit_arena_isa(a, i) == FIT_ISA_EVM ? "evm" : "native",
                s->score, wdl, s->gas, s->memtime, s->moves, s->forfeits, s->faults, s->exhausted,
                s->nomove, s->invalid, s->denied);
    }
    free(order);
}

/* Where the finished tournament goes: out, or results/arena/<spec name>.h5. */
static void results_path(const char *spec, const char *out, char *path, size_t cap) {
    if (out) {
        snprintf(path, cap, "%s", out);
        return;
    }
    const char *base = strrchr(spec, '/');
    base = base ? base + 1 : spec;
    size_t n = strlen(base);
    if (n > 5 && !strcmp(base + n - 5, ".json")) n -= 5;
    snprintf(path, cap, "results/arena/%.*s.h5", (int)n, base);
}

/* The finished tournament as HDF5 (default results/arena/<spec name>.h5). */
static int write_results(const fit_arena *a, const char *spec, const char *out, bool force) {
    char path[4096], err[512];
    vm_buf text = {0};
    int rc = exp_read_file(spec, &text);
    if (rc) return rc;
    char *json = malloc(text.len + 1);
    if (!json) {
        vm_buf_free(&text);
        return EXP_EXIT_IO;
    }
    memcpy(json, text.data, text.len);
    json[text.len] = 0;
    vm_buf_free(&text);
    if (!out) {
        mkdir("results", 0755);
        mkdir("results/arena", 0755);
    }
    results_path(spec, out, path, sizeof path);
    out = path;
    if (st_arena_write(out, force, json, a, err, sizeof err)) {
        fprintf(stderr, "frugal arena: %s\n", err);
        rc = EXP_EXIT_IO; /* also an existing file, as frugal run (docs/cli.md) */
    } else {
        fprintf(stderr, "frugal arena: results in %s (frugal report %s)\n", out, out);
    }
    free(json);
    return rc;
}

int exp_cmd_arena(int argc, char **argv) {
    static const struct option opts[] = {{"checkpoint", required_argument, NULL, 'c'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"force", no_argument, NULL, 'f'},
                                         {"resume", required_argument, NULL, 'r'},
                                         {"stop-after", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *ckpt = NULL, *resume = NULL, *out = NULL;
    bool force = false;
    uint64_t stop_after = UINT64_MAX;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': ckpt = optarg; break;
        case 'o': out = optarg; break;
        case 'f': force = true; break;
        case 'r': resume = optarg; break;
        case 's':
            if (exp_parse_u64("--stop-after", optarg, &stop_after)) return EXP_EXIT_USAGE;
            break;
        case 'h': arena_usage(stdout); return EXP_EXIT_OK;
        default: arena_usage(stderr); return EXP_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        arena_usage(stderr);
        return EXP_EXIT_USAGE;
    }
    fit_arena *a = NULL;
    int rc = load_spec(argv[optind], &a);
    if (rc) return rc;
    /* an existing result is refused before the tournament is played, unless
     * it stops early (--stop-after) and writes none */
    char path[4096];
    results_path(argv[optind], out, path, sizeof path);
    if (!force && stop_after >= fit_arena_rounds_total(a) && access(path, F_OK) == 0) {
        fprintf(stderr, "frugal arena: %s: already exists (use --force to replace it)\n", path);
        rc = EXP_EXIT_IO;
        goto cleanup;
    }
    if (resume) {
        vm_buf b = {0};
        if ((rc = exp_read_file(resume, &b))) goto cleanup;
        char err[256];
        if (fit_arena_load(a, b.data, b.len, err, sizeof err)) {
            fprintf(stderr, "frugal: %s: %s\n", resume, err);
            rc = EXP_EXIT_INPUT;
        }
        vm_buf_free(&b);
        if (rc) goto cleanup;
        fprintf(stderr, "frugal: resumed from %s at round %" PRIu64 " of %" PRIu64 "\n", resume,
                fit_arena_rounds_played(a), fit_arena_rounds_total(a));
    }
    uint32_t matches = fit_arena_nmatches(a);
    while (!fit_arena_done(a)) {
        if (fit_arena_rounds_played(a) >= stop_after) {
            if (ckpt && (rc = write_checkpoint(a, ckpt))) goto cleanup;
            fprintf(stderr, "frugal: stopped after %" PRIu64 " of %" PRIu64 " rounds%s%s\n",
                    fit_arena_rounds_played(a), fit_arena_rounds_total(a),
                    ckpt ? "; resume with --resume " : "", ckpt ? ckpt : "");
            goto cleanup;
        }
        if (fit_arena_step(a) < 0) {
            fprintf(stderr, "frugal: out of memory\n");
            rc = EXP_EXIT_FAIL;
            goto cleanup;
        }
        if (ckpt && fit_arena_nmatches(a) != matches) {
            matches = fit_arena_nmatches(a);
            if ((rc = write_checkpoint(a, ckpt))) goto cleanup;
        }
    }
    print_table(a, stdout);
    rc = write_results(a, argv[optind], out, force);
cleanup:
    fit_arena_free(a);
    return rc;
}
