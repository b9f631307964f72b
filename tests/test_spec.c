/* experiments/spec.c: strict parsing (unknown and duplicate keys, wrong types
 * and ranges, each naming the file and the JSON path), overrides typed by
 * the schema, the canonical form (sorted, compact, stable), and every
 * shipped spec. */
#include <criterion/criterion.h>
#include <glob.h>
#include <jansson.h>
#include <string.h>

#include "experiments/cli.h"
#include "experiments/spec.h"

static char err[EXP_SPEC_ERRCAP];

static int load_text(exp_spec *s, const char *text, const exp_override *ov, size_t nov) {
    err[0] = 0;
    return exp_spec_load(s, "t.json", text, ov, nov, err, sizeof err);
}

/* Loading must fail with exit code 3 and a message holding every needle. */
static void fails(const char *text, const char *n1, const char *n2, const char *n3) {
    exp_spec s;
    int rc = load_text(&s, text, NULL, 0);
    cr_assert_eq(rc, EXP_EXIT_INPUT, "expected a spec error for %s (rc %d)", text, rc);
    cr_assert(strstr(err, "t.json"), "no file name in: %s", err);
    const char *n[] = {n1, n2, n3};
    for (int i = 0; i < 3; i++)
        if (n[i]) cr_assert(strstr(err, n[i]), "'%s' not in: %s", n[i], err);
}

#define Q "{\"task\":{\"name\":\"quartic\"},"

Test(spec, valid_minimal_gets_the_defaults) {
    exp_spec s;
    cr_assert_eq(load_text(&s, Q "\"budget\":{\"generations\":7}}", NULL, 0), 0, "%s", err);
    cr_assert_str_eq(s.name, "t");
    cr_assert_str_eq(s.task_name, "quartic");
    cr_assert_eq(s.params.seed, 1);
    cr_assert_eq(s.params.pop_size, EVO_DEFAULT_POP);
    cr_assert_eq(s.params.max_generations, 7);
    cr_assert_eq(s.params.selection, EVO_SEL_TOURNAMENT);
    cr_assert_eq(s.params.limits.gas, FIT_QUARTIC_GAS); /* the task's limit, resolved */
    cr_assert_eq(s.params.limits.memtime, VM_MAX_MEMTIME);
    cr_assert_eq(s.n_train, 20);
    cr_assert(s.canonical && s.canonical[0] == '{');
    exp_spec_free(&s);
}

Test(spec, every_section_maps_to_params) {
    exp_spec s;
    const char *text =
        Q "\"name\":\"x-1\",\"seed\":99,\"threads\":2,"
          "\"population\":{\"size\":64,\"islands\":3},"
          "\"selection\":{\"method\":\"nsga2\",\"tournament\":4,\"elites\":0,"
          "\"tiebreak\":\"gas\",\"objectives\":[\"error\",\"memtime\",\"length\"]},"
          "\"fitness\":{\"parsimony_length\":0.5,\"parsimony_gas\":0.25},"
          "\"variation\":{\"cx_one_point\":0.1,\"cx_two_point\":0.2,\"cx_homologous\":0.3,"
          "\"point\":0.4,\"insert\":0.5,\"delete\":0.6,\"swap\":0.7,\"point_imm\":0.8,"
          "\"point_class\":0.9},"
          "\"genome\":{\"max_bytes\":512,\"max_insns\":64,\"init_min\":2,\"init_max\":9,"
          "\"init_stack_aware\":false,\"init_depth\":1,\"opcodes\":[\"push\",\"ADD\",\"FMUL\"],"
          "\"constants\":[0.5,-2],\"p_const\":0.3,\"const_lo\":-3,\"const_hi\":3.5,"
          "\"const_tweak\":0.125,\"idx_max\":4},"
          "\"migration\":{\"every\":5,\"migrants\":2,\"topology\":\"random\","
          "\"emigrate\":\"random\"},"
          "\"limits\":{\"gas\":500,\"mem\":100,\"memtime\":12345,\"stack\":32,\"calls\":8},"
          "\"budget\":{\"generations\":0,\"evaluations\":1000,\"gas\":77,\"target_error\":0.5,"
          "\"wall_seconds\":0},"
          "\"output\":{\"per_case\":true}}";
    cr_assert_eq(load_text(&s, text, NULL, 0), 0, "%s", err);
    const evo_params *p = &s.params;
    cr_assert_str_eq(s.name, "x-1");
    cr_assert_eq(p->seed, 99);
    cr_assert_eq(s.threads, 2);
    cr_assert_eq(p->pop_size, 64);
    cr_assert_eq(p->islands, 3);
    cr_assert_eq(p->selection, EVO_SEL_NSGA2);
    cr_assert_eq(p->tournament, 4);
    cr_assert_eq(p->tiebreak, EVO_TIE_GAS);
    cr_assert_eq(p->nobjectives, 3);
    cr_assert_eq(p->objectives[1], EVO_OBJ_MEMTIME);
    cr_assert_eq(p->objectives[2], EVO_OBJ_LENGTH);
    cr_assert_eq(p->parsimony_length, 0.5);
    cr_assert_eq(p->parsimony_gas, 0.25);
    cr_assert_eq(p->genome.p_cx_homol, 0.3);
    cr_assert_eq(p->genome.p_point_class, 0.9);
    cr_assert_eq(p->genome.max_bytes, 512);
    cr_assert_eq(p->genome.init_stack_aware, false);
    cr_assert_eq(p->genome.nops, 3);
    cr_assert_eq(p->genome.ops[0], VM_OP_PUSH);
    cr_assert_eq(p->genome.ops[2], VM_OP_FMUL);
    cr_assert_eq(p->genome.nconsts, 2);
    cr_assert_eq(p->genome.consts[0], VM_FX_ONE / 2); /* Q32.32: a fixed-point task */
    cr_assert_eq(p->genome.consts[1], -2 * VM_FX_ONE);
    cr_assert_eq(p->genome.const_hi, 7 * VM_FX_ONE / 2);
    cr_assert_eq(p->genome.const_tweak, VM_FX_ONE / 8);
    cr_assert_eq(p->migrate_every, 5);
    cr_assert_eq(p->topology, EVO_TOPO_RANDOM);
    cr_assert_eq(p->emigrate, EVO_EMIGRATE_RANDOM);
    cr_assert_eq(p->limits.gas, 500);
    cr_assert_eq(p->limits.memtime, 12345);
    cr_assert_eq(p->limits.calls, 8);
    cr_assert_eq(p->max_evaluations, 1000);
    cr_assert_eq(p->max_gas, 77);
    cr_assert_eq(p->target_error, 0.5);
    cr_assert(s.per_case);
    /* the canonical text holds everything but threads */
    cr_assert_null(strstr(s.canonical, "threads"));
    cr_assert(strstr(s.canonical, "\"opcodes\":[\"PUSH\",\"ADD\",\"FMUL\"]"), "%s", s.canonical);
    exp_spec_free(&s);
}

Test(spec, unknown_key_names_the_path_and_the_keys) {
    fails(Q "\"budget\":{\"generations\":1},\"selection\":{\"tournamnet\":3}}", "$.selection",
          "unknown key \"tournamnet\"", "tournament");
    fails(Q "\"budget\":{\"generations\":1},\"colour\":1}", "$: unknown key \"colour\"", NULL,
          NULL);
}

Test(spec, duplicate_key_is_an_error_with_line_and_column) {
    fails("{\"seed\":1,\n \"seed\":2,\"task\":{\"name\":\"quartic\"}}", "t.json:2:", "duplicate",
          NULL);
}

Test(spec, syntax_error_has_line_and_column) {
    fails("{\"seed\":1,\n\n  \"task\": {,}}", "t.json:3:", "invalid JSON", NULL);
}

Test(spec, wrong_type_names_path_expected_and_found) {
    fails(Q "\"budget\":{\"generations\":1},\"selection\":{\"tournament\":\"3\"}}",
          "$.selection.tournament", "expected an integer in 1..", "found \"3\" (a string)");
    fails(Q "\"budget\":{\"generations\":1},\"selection\":{\"tournament\":0}}",
          "$.selection.tournament", "found 0 (an integer)", NULL);
    fails(Q "\"budget\":{\"generations\":1},\"selection\":{\"method\":\"roulette\"}}",
          "$.selection.method", "\"eps-lexicase\"", "found \"roulette\"");
    fails(Q "\"budget\":{\"generations\":1},\"variation\":{\"point\":1.5}}", "$.variation.point",
          "[0, 1]", NULL);
    fails(Q "\"budget\":{\"generations\":1},\"selection\":{\"objectives\":[\"error\",\"speed\"]}}",
          "$.selection.objectives[1]", "found \"speed\"", NULL);
    fails(Q "\"budget\":{\"generations\":1},\"genome\":{\"opcodes\":[\"ADD\",\"FLY\"]}}",
          "$.genome.opcodes[1]", "found \"FLY\"", NULL);
    fails(Q "\"budget\":{\"generations\":1},\"output\":{\"per_case\":1}}", "$.output.per_case",
          "true or false", NULL);
    fails("[1,2]", "$: expected an object", NULL, NULL);
}

/* output.population: "every", "every N" or "final", canonical as written;
 * anything else names the field and what it found. */
Test(spec, output_population_choices) {
    static const struct {
        const char *text;
        uint32_t every;
    } ok[] = {{"every", 1}, {"every 1", 1}, {"every 25", 25}, {"final", ST_FINAL}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char text[256], want[64];
        snprintf(text, sizeof text, Q "\"output\":{\"population\":\"%s\"}}", ok[i].text);
        exp_spec s;
        cr_assert_eq(load_text(&s, text, NULL, 0), 0, "%s", ok[i].text);
        cr_assert_eq(s.keep_every, ok[i].every, "%s", ok[i].text);
        snprintf(want, sizeof want, "\"population\":\"%s\"",
                 ok[i].every == 1 ? "every" : ok[i].text);
        cr_assert(strstr(s.canonical, want), "%s", s.canonical);
        exp_spec_free(&s);
    }
    exp_spec s;
    cr_assert_eq(load_text(&s, Q "\"budget\":{\"generations\":1}}", NULL, 0), 0);
    cr_assert_eq(s.keep_every, EXP_KEEP_EVERY, "the default");
    exp_spec_free(&s);
    static const char *const bad[] = {"every 0",          "sometimes", "every -3", "every 10x",
                                      "every 4294967296", "final 2",   "every  5"};
    for (size_t i = 1; i < sizeof bad / sizeof *bad; i++) {
        char text[256], found[64];
        snprintf(text, sizeof text, Q "\"output\":{\"population\":\"%s\"}}", bad[i]);
        snprintf(found, sizeof found, "found \"%s\"", bad[i]);
        fails(text, "$.output.population", found, "\"every N\"");
    }
    fails(Q "\"output\":{\"population\":\"every 0\"}}", "$.output.population", NULL, NULL);
    fails(Q "\"output\":{\"population\":10}}", "$.output.population", "a string", NULL);
}

Test(spec, semantic_errors_name_a_path) {
    fails(Q "\"budget\":{\"generations\":0}}", "$.budget", "never stop", NULL);
    fails("{\"budget\":{\"generations\":1}}", "$.task.name", "required", NULL);
    fails("{\"task\":{\"name\":\"sudoku\"},\"budget\":{\"generations\":1}}", "$.task", "sudoku",
          NULL);
    fails(Q "\"budget\":{\"generations\":1},\"genome\":{\"init_min\":9,\"init_max\":3}}",
          "$.genome.init_min", NULL, NULL);
    fails(Q "\"budget\":{\"generations\":1},\"population\":{\"size\":10},"
            "\"selection\":{\"elites\":10}}",
          "$.selection.elites", NULL, NULL);
    fails(Q "\"budget\":{\"generations\":1},\"variation\":{\"cx_one_point\":0.6,"
            "\"cx_two_point\":0.6}}",
          "$.variation", "<= 1", NULL);
    /* an integer task takes integer constants only */
    fails("{\"task\":{\"name\":\"gcd\"},\"budget\":{\"generations\":1},"
          "\"genome\":{\"constants\":[1.5]}}",
          "$.genome.constants[0]", "integer", NULL);
    fails(Q "\"budget\":{\"generations\":1},\"name\":\"../x\"}", "$.name", NULL, NULL);
}

Test(spec, overrides_are_typed_by_the_schema) {
    exp_spec s;
    exp_override ov[] = {{"selection.method", "lexicase"},   {"seed", "42"},
                         {"budget.target_error", "null"},    {"genome.opcodes", "PUSH,ADD,DUP"},
                         {"fitness.parsimony_gas", "0.001"}, {"output.per_case", "true"},
                         {"budget.generations", "3"}};
    cr_assert_eq(load_text(&s, Q "\"budget\":{\"target_error\":0.1}}", ov, 7), 0, "%s", err);
    cr_assert_eq(s.params.selection, EVO_SEL_LEXICASE);
    cr_assert_eq(s.params.seed, 42);
    cr_assert(s.params.target_error < 0);
    cr_assert_eq(s.params.genome.nops, 3);
    cr_assert_eq(s.params.parsimony_gas, 0.001);
    cr_assert(s.per_case);
    cr_assert_eq(s.params.max_generations, 3);
    exp_spec_free(&s);

    /* wrong values name the override and the path */
    exp_override bad1[] = {{"selection.tournament", "three"}};
    cr_assert_eq(load_text(&s, Q "\"budget\":{\"generations\":1}}", bad1, 1), EXP_EXIT_INPUT);
    cr_assert(strstr(err, "--set selection.tournament=three"), "%s", err);
    cr_assert(strstr(err, "$.selection.tournament: expected an integer"), "%s", err);
    exp_override bad2[] = {{"selection.tournamnet", "3"}};
    cr_assert_eq(load_text(&s, Q "\"budget\":{\"generations\":1}}", bad2, 1), EXP_EXIT_INPUT);
    cr_assert(strstr(err, "unknown key \"tournamnet\""), "%s", err);
    exp_override bad3[] = {{"selection", "x"}};
    cr_assert_eq(load_text(&s, Q "\"budget\":{\"generations\":1}}", bad3, 1), EXP_EXIT_INPUT);
    exp_override bad4[] = {{"selection.tournament", "0"}}; /* parses, then fails the range */
    cr_assert_eq(load_text(&s, Q "\"budget\":{\"generations\":1}}", bad4, 1), EXP_EXIT_INPUT);
    cr_assert(strstr(err, "$.selection.tournament"), "%s", err);
}

/* A value that parses but fails a check is blamed on the --set that gave
 * it, not on the spec file; the file's own errors still name the file. */
Test(spec, override_errors_name_the_override) {
    static const exp_override ovs[][1] = {
        {{"genome.opcodes", "ADD,NOPE"}},
        {{"selection.objectives", "error,bogus"}},
        {{"selection.objectives", "gas,gas"}},
        {{"selection.method", "bogus"}},
        {{"threads", "5000"}},
        {{"selection.tournament", "0"}},
        {{"selection.elites", "5000"}},
        {{"genome.init_max", "999"}},
        {{"task.name", "nope"}},
        {{"genome.constants", "1,9999999"}},
    };
    for (size_t i = 0; i < sizeof ovs / sizeof *ovs; i++) {
        exp_spec s;
        char want[128];
        snprintf(want, sizeof want, "--set %s=%s: $.", ovs[i][0].path, ovs[i][0].value);
        cr_assert_eq(load_text(&s, Q "\"budget\":{\"generations\":1}}", ovs[i], 1), EXP_EXIT_INPUT,
                     "%s=%s", ovs[i][0].path, ovs[i][0].value);
        cr_assert(!strncmp(err, want, strlen(want)), "%s=%s: %s", ovs[i][0].path, ovs[i][0].value,
                  err);
        cr_assert(!strstr(err, "t.json"), "%s", err);
    }
    /* an error of the file, with an unrelated override */
    exp_override seed[] = {{"seed", "7"}};
    exp_spec s;
    cr_assert_eq(load_text(&s, Q "\"budget\":{\"generations\":1},\"selection\":{\"method\":\"x\"}}",
                           seed, 1),
                 EXP_EXIT_INPUT);
    cr_assert(!strncmp(err, "t.json: $.selection.method", 26), "%s", err);
}

/* The canonical text is sorted compact JSON, and loading it gives it back. */
static void canonical_is_stable(const char *path) {
    exp_spec a, b;
    char e[EXP_SPEC_ERRCAP];
    int rc = exp_spec_load(&a, path, NULL, NULL, 0, e, sizeof e);
    if (rc) {
        /* only a task that this build's task library cannot build yet */
        cr_assert(strstr(e, "unknown task"), "%s: %s", path, e);
        json_t *j = json_load_file(path, 0, NULL);
        const char *task = json_string_value(json_object_get(json_object_get(j, "task"), "name"));
        cr_assert(task && !exp_spec_task_known(task), "%s: %s", path, e);
        cr_log_warn("%s: task %s is not in this build yet", path, task);
        json_decref(j);
        return;
    }
    json_t *j = json_loads(a.canonical, JSON_REJECT_DUPLICATES, NULL);
    cr_assert_not_null(j, "%s: canonical text is not JSON", path);
    char *again = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(17));
    cr_assert_str_eq(again, a.canonical, "%s: not sorted compact JSON", path);
    free(again);
    json_decref(j);
    cr_assert_eq(exp_spec_load(&b, path, a.canonical, NULL, 0, e, sizeof e), 0, "%s: %s", path, e);
    cr_assert_str_eq(b.canonical, a.canonical, "%s: canonical form not stable", path);
    cr_assert_eq(memcmp(&a.params, &b.params, sizeof a.params), 0, "%s: params differ", path);
    exp_spec_free(&a);
    exp_spec_free(&b);
}

Test(spec, every_shipped_spec_parses_and_its_canonical_form_is_stable) {
    glob_t g;
    cr_assert_eq(glob("specs/*.json", 0, NULL, &g), 0, "no specs (run from the repo root)");
    const char *need[] = {"demo", "quartic",   "quartic-gas", "parity5",     "mux11",
                          "gcd",  "fuel-cost", "evm-max",     "evm-max-gas", "evm-superopt"};
    for (size_t i = 0; i < sizeof need / sizeof *need; i++) {
        char p[128];
        snprintf(p, sizeof p, "specs/%s.json", need[i]);
        bool found = false;
        for (size_t k = 0; k < g.gl_pathc; k++)
            found |= !strcmp(g.gl_pathv[k], p);
        cr_assert(found, "%s is not shipped", p);
    }
    for (size_t k = 0; k < g.gl_pathc; k++)
        canonical_is_stable(g.gl_pathv[k]);
    globfree(&g);
}

/* bench science's honesty rule (docs/science.md): the nine PSB specs share
 * one search, no problem tuned, and each buys the published program
 * executions (200 generations for Median and Smallest, else 300, on every
 * training case). */
Test(spec, the_psb_specs_share_one_search_at_the_published_executions) {
    static const struct {
        const char *name;
        unsigned published_gens;
    } psb[] = {{"median", 200},     {"smallest", 200},           {"small-or-large", 300},
               {"count-odds", 300}, {"last-index-of-zero", 300}, {"gcd", 300},
               {"fuel-cost", 300},  {"coin-sums", 300},          {"basement", 300}};
    exp_spec first;
    for (size_t i = 0; i < sizeof psb / sizeof *psb; i++) {
        char p[128];
        snprintf(p, sizeof p, "specs/%s.json", psb[i].name);
        exp_spec s;
        cr_assert_eq(exp_spec_load(&s, p, NULL, NULL, 0, err, sizeof err), 0, "%s: %s", p, err);
        const evo_params *a = &s.params;
        cr_assert_str_eq(s.task_name, psb[i].name);
        cr_assert_eq(a->pop_size, 1000, "%s", p);
        cr_assert_eq(a->selection, EVO_SEL_LEXICASE, "%s", p);
        cr_assert_eq(a->genome.max_insns, 500, "%s", p);
        cr_assert_eq(a->genome.init_max, 250, "%s", p);
        cr_assert_eq(a->genome.umad, 0.09, "%s", p);
        cr_assert_eq((double)a->max_generations * a->downsample, psb[i].published_gens, "%s", p);
        if (i == 0) {
            first = s;
            continue;
        }
        const evo_params *b = &first.params;
        cr_assert(a->downsample == b->downsample && a->elites == b->elites &&
                      a->islands == b->islands && a->target_error == b->target_error &&
                      a->tiebreak == b->tiebreak,
                  "%s: selection or budget rule differs from median.json", p);
        const evo_genome_params *g = &a->genome, *h = &b->genome;
        cr_assert(g->p_cx_one == h->p_cx_one && g->p_cx_two == h->p_cx_two &&
                      g->p_cx_homol == h->p_cx_homol && g->p_point == h->p_point &&
                      g->p_insert == h->p_insert && g->p_delete == h->p_delete &&
                      g->p_swap == h->p_swap && g->umad == h->umad && g->init_min == h->init_min &&
                      g->max_bytes == h->max_bytes,
                  "%s: variation or genome differs from median.json", p);
        exp_spec_free(&s);
    }
    exp_spec_free(&first);
}

Test(spec, canonical_is_stable_with_awkward_numbers) {
    exp_spec a, b;
    const char *text = Q "\"budget\":{\"generations\":1,\"target_error\":0.1},"
                         "\"fitness\":{\"parsimony_gas\":0.3333333333333333},"
                         "\"genome\":{\"constants\":[0.1,1e-9,-2097152]}}";
    cr_assert_eq(load_text(&a, text, NULL, 0), 0, "%s", err);
    cr_assert_eq(load_text(&b, a.canonical, NULL, 0), 0, "%s", err);
    cr_assert_str_eq(a.canonical, b.canonical);
    cr_assert_eq(memcmp(&a.params, &b.params, sizeof a.params), 0);
    exp_spec_free(&a);
    exp_spec_free(&b);
    fails(Q "\"budget\":{\"generations\":1},\"genome\":{\"constants\":[3000000]}}",
          "$.genome.constants[0]", "Q32.32", NULL);
}

Test(spec, overrides_change_the_canonical_text) {
    exp_spec a, b;
    exp_override ov[] = {{"seed", "7"}};
    cr_assert_eq(load_text(&a, Q "\"budget\":{\"generations\":1}}", NULL, 0), 0, "%s", err);
    cr_assert_eq(load_text(&b, Q "\"budget\":{\"generations\":1}}", ov, 1), 0, "%s", err);
    cr_assert(strstr(a.canonical, "\"seed\":1,"), "%s", a.canonical);
    cr_assert(strstr(b.canonical, "\"seed\":7,"), "%s", b.canonical);
    exp_spec_free(&a);
    exp_spec_free(&b);
}

Test(spec, missing_file_is_an_io_error) {
    exp_spec s;
    cr_assert_eq(exp_spec_load(&s, "no/such/spec.json", NULL, NULL, 0, err, sizeof err),
                 EXP_EXIT_IO);
    cr_assert(strstr(err, "no/such/spec.json"), "%s", err);
}

/* No spec text crashes the loader: every mutation of a valid spec either
 * loads or fails with exit code 3 and a message naming the file. */
Test(spec, mutated_specs_never_crash) {
    const char *base = Q "\"seed\":3,\"population\":{\"size\":20,\"islands\":2},"
                         "\"selection\":{\"method\":\"nsga2\",\"objectives\":[\"error\",\"gas\"]},"
                         "\"genome\":{\"opcodes\":[\"PUSH\",\"ADD\"],\"constants\":[0.5]},"
                         "\"budget\":{\"generations\":2,\"target_error\":null}}";
    static const char alphabet[] = "{}[]\":,.-+0123456789eEtrufalsn \\x";
    size_t n = strlen(base);
    char *t = malloc(n + 8);
    uint64_t s = 12345;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(t, base, n + 1);
        int edits = 1 + (int)(s % 3);
        for (int e = 0; e < edits; e++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(s >> 33) % n;
            t[at] = alphabet[(s >> 17) % (sizeof alphabet - 1)];
        }
        exp_spec sp;
        int rc = load_text(&sp, t, NULL, 0);
        if (rc == 0)
            exp_spec_free(&sp);
        else {
            cr_assert_eq(rc, EXP_EXIT_INPUT, "rc %d for %s", rc, t);
            cr_assert(strstr(err, "t.json"), "message without the file for %s: %s", t, err);
        }
    }
    free(t);
}
